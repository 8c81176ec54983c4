"""Setting up a knowledge repository: README, .gitignore, .gitattributes and the merge driver.

The .gitattributes routes every knowledge file to the `engram` merge driver, but git keeps
driver definitions in .git/config, which a clone does not copy — so `init-repo` is also what
you run in each fresh clone: it adds only what is missing and commits only if it added files.
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path

import engram_ci
from engram_ci.errors import FatalError
from engram_ci.knowledge.blocks import CONTEXT_FILE, KNOWLEDGE_CATEGORIES
from engram_ci.memory.paths import METADATA_FILE
from engram_ci.sync.git_repo import MODE_FILE, Entry, GitRepo

log = logging.getLogger("engram_ci")

DRIVER = "engram"
DEFAULT_BRANCH = "main"

ATTRIBUTES_HEADER = (
    "# engram-ci: knowledge files merge block by block (## Session: ...), never as text.\n"
    "# The driver lives in .git/config: run `engram sync init-repo .` in every clone.\n"
)
ATTRIBUTE_LINES = tuple(
    f"*/{name} merge={DRIVER}"
    for name in (*(f"{c}.md" for c in KNOWLEDGE_CATEGORIES), CONTEXT_FILE, METADATA_FILE)
)

GITIGNORE = """\
# engram-ci knowledge repository
# temp files of interrupted atomic writes
.*.tmp
*.tmp
.DS_Store
"""

README = f"""\
# Knowledge repository (engram)

Shared memory for AI coding agents, written by engram and engram-ci.
One folder per project, each holding engram's knowledge files:

```
<project>/decisions.md   solutions.md   patterns.md   bugs.md
          insights.md    questions.md   procedures.md
          context.md     (derived: a digest of the files above, regenerated on every sync)
          metadata.json  (derived: which tool synced last, and when)
```

Each file is a list of `## Session: <id> (<timestamp>)` blocks. Writers never conflict:
files merge block by block (the union of both sides; a `[deleted:...]` tombstone removes an
entry everywhere), through the `{DRIVER}` merge driver named in `.gitattributes`.

## Use

```sh
engram sync init-repo .                 # in EVERY clone: git does not clone .git/config,
                                        # so this (re)adds the merge driver; it only adds
                                        # what is missing
engram sync push-repo myproject . --push-remote     # merge local memory in, commit, push
engram sync pull-repo myproject . --fetch-remote    # merge the repo into local memory
```

Several agents at once: each pushes to its own branch (`--branch agent-a`), then merge
them into main at block level, either one at a time with plain git

```sh
git merge agent-a && git merge agent-b
```

or all at once in one merge commit (git's octopus merge runs no merge drivers):

```sh
engram sync merge agent-a agent-b agent-c
```

After a plain `git merge`, context.md may lag behind the merged entries until the next
push-repo or `engram sync merge` regenerates it.
"""


def driver_command() -> str:
    """The driver command line, runnable from any cwd (git runs it with `sh -c`)."""
    command = f"{shlex.quote(sys.executable)} -m engram_ci sync merge-driver %O %A %B %P"
    package_parent = Path(engram_ci.__file__).resolve().parent.parent
    if package_parent.name not in ("site-packages", "dist-packages"):
        # a source checkout rather than an installed package: make it importable anywhere
        where = shlex.quote(str(package_parent))
        command = f"PYTHONPATH={where}${{PYTHONPATH:+:$PYTHONPATH}} {command}"
    return command


def configure_driver(repo: GitRepo) -> bool:
    """Point merge.engram.* at this engram-ci; True when the config changed."""
    wanted = {
        f"merge.{DRIVER}.name": "engram block-level merge of knowledge files",
        f"merge.{DRIVER}.driver": driver_command(),
    }
    changed = False
    for key, value in wanted.items():
        if repo.config_get(key) != value:
            repo.config_set_local(key, value)
            changed = True
    return changed


def _attributes(existing: str | None) -> str | None:
    """.gitattributes with every engram line present; None when nothing is missing."""
    if existing is None:
        return ATTRIBUTES_HEADER + "\n".join(ATTRIBUTE_LINES) + "\n"
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in ATTRIBUTE_LINES if line not in have]
    if not missing:
        return None
    return existing.rstrip("\n") + "\n\n" + ATTRIBUTES_HEADER + "\n".join(missing) + "\n"


def init_repo(path: Path, *, branch: str = DEFAULT_BRANCH) -> str:
    """Create or complete a knowledge repo; return the head commit sha."""
    with GitRepo.init(path, branch=branch) as repo, repo.lock():
        if configure_driver(repo):
            log.info("configured the %s merge driver in %s/.git/config", DRIVER, repo.top_level)
        target = repo.current_branch()
        if target is None:
            raise FatalError(f"HEAD is detached in {repo.top_level}: check out a branch first")
        tip = repo.branch_tip(target)
        root = {e.name: e for e in repo.read_tree(repo.tree_of(tip))}

        def committed(name: str) -> str | None:
            entry = root.get(name)
            if entry is None or not entry.is_regular_file:
                return None
            return repo.read_blob(entry.sha).decode("utf-8", errors="replace")

        added: dict[str, str] = {}
        for name, text in (("README.md", README), (".gitignore", GITIGNORE)):
            untracked = not repo.bare and (repo.top_level / name).exists()
            if name not in root and not untracked:
                added[name] = text
        attributes = _attributes(committed(".gitattributes"))
        if attributes is not None:
            added[".gitattributes"] = attributes
        if not added:
            log.info("%s is already a knowledge repository", repo.top_level)
            return tip or ""
        names = sorted(added)
        shas = repo.write_blobs([added[n].encode() for n in names])
        entries = {**root, **{n: Entry(n, MODE_FILE, s) for n, s in zip(names, shas, strict=True)}}
        tree = repo.write_tree(list(entries.values()))
        message = (
            "engram: complete knowledge repository setup"
            if tip
            else "engram: initialise knowledge repository"
        )
        commit = repo.commit_tree(tree, [tip] if tip else [], message)
        repo.advance_branch(target, tip, commit, "engram: init-repo", sync_work_tree=True)
        log.info("added %s to %s", ", ".join(names), repo.top_level)
        return commit
