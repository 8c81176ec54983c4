"""Redaction benchmark (issue 15, item 1): recall on realistic secrets, side by side with
detect-secrets, on a seeded corpus (tests/redaction_corpus/generator.py).

    python benchmarks/redaction.py             # both corpora, real transcripts, throughput
    python benchmarks/redaction.py --misses    # also list what the tuning corpus missed

For each tool and each corpus (tuning seed, held-out seed) it prints:
- recall: the share of planted secrets that are gone WHOLE — no 4-character piece of the
  secret is left anywhere (`[REDACTED:secret]&df5!` is a miss, so is a kept `ghp_` prefix);
- clean altered: the share of clean look-alikes (hashes, UUIDs, placeholders...) changed;
- on the real transcripts (/work/shared/corpus/claude-code or ../shared/corpus/claude-code):
  how many redactions each tool makes (the target is 0: none of them holds a secret);
- engram's throughput over those transcripts (MB/s; redaction runs on every upload).
Targets: recall >= 99 %, clean altered <= 2 %, 0 redactions on the real transcripts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engram_ci.sync.redact import RedactionReport, redact_text  # noqa: E402
from tests.redaction_corpus.generator import (  # noqa: E402
    HELD_OUT_SEED,
    TUNING_SEED,
    Case,
    corpus,
    secret_gone,
)

TRANSCRIPTS = next(
    (
        path
        for path in (
            Path("/work/shared/corpus/claude-code"),
            ROOT.parent / "shared/corpus/claude-code",
        )
        if path.is_dir()
    ),
    None,
)
Redactor = Callable[[str], str]


def detect_secrets_redactor() -> Redactor | None:
    """detect-secrets' default plugins and filters, as `detect-secrets scan` runs them on a file
    (its per-line `scan_line` is an ad-hoc mode without the filters: every word is a hit)."""
    try:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def redact(text: str) -> str:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "sample.txt")
            path.write_text(text, encoding="utf-8")
            found = SecretsCollection()
            with default_settings():
                found.scan_file(str(path))
            lines = text.split("\n")
            for secret in found[str(path)]:
                index = secret.line_number - 1
                if secret.secret_value and 0 <= index < len(lines):
                    lines[index] = lines[index].replace(secret.secret_value, "[REDACTED:secret]")
        return "\n".join(lines)

    return redact


def measure(redact: Redactor, seed: int) -> tuple[float, float, list[Case]]:
    data = corpus(seed)
    misses = [case for case in data.secrets if not secret_gone(case, redact(case.text))]
    altered = sum(redact(text) != text for text in data.clean)
    recall = 1 - len(misses) / len(data.secrets)
    return recall, altered / len(data.clean), misses


def transcripts() -> list[str]:
    if TRANSCRIPTS is None:
        return []
    files = sorted(p for p in TRANSCRIPTS.rglob("*") if p.is_file())
    return [p.read_bytes().decode("utf-8", errors="replace") for p in files]


def engram_on_transcripts(texts: list[str]) -> tuple[int, float, Counter[str]]:
    """(redactions, best-of-3 MB/s, kinds) over the real transcripts."""
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = float("inf")
    report = RedactionReport()
    for attempt in range(3):
        started = time.perf_counter()
        run = RedactionReport()
        for text in texts:
            redact_text(text, run)
        best = min(best, time.perf_counter() - started)
        report = run if attempt == 0 else report
    return report.total, size / best, report.counts


def detect_secrets_on_transcripts(redact: Redactor, texts: list[str]) -> int:
    return sum(redact(text).count("[REDACTED:secret]") for text in texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning corpus' misses")
    parser.add_argument(
        "--no-transcripts", action="store_true", help="skip the real-transcript pass (slow)"
    )
    args = parser.parse_args(argv)

    tools: list[tuple[str, Redactor]] = [("engram", redact_text)]
    detect = detect_secrets_redactor()
    if detect is None:
        print("detect-secrets not installed (pip install detect-secrets): engram only")
    else:
        tools.append(("detect-secrets", detect))

    data = corpus(TUNING_SEED)
    formats = len({c.format for c in data.secrets})
    contexts = len({c.context for c in data.secrets})
    print(
        f"corpus: {len(data.secrets)} secrets ({formats} formats, {contexts} contexts), "
        f"{len(data.clean)} clean look-alikes per seed"
    )
    print(f"{'tool':<16}{'seed':<18}{'recall':>8}{'clean altered':>15}")
    tuning_misses: list[Case] = []
    for name, redact in tools:
        for label, seed in (("tuning", TUNING_SEED), ("held-out", HELD_OUT_SEED)):
            recall, altered, misses = measure(redact, seed)
            print(f"{name:<16}{f'{label} ({seed})':<18}{recall:>8.1%}{altered:>15.1%}")
            if name == "engram" and label == "tuning":
                tuning_misses = misses
    if args.misses:
        for case in tuning_misses:
            print(f"  MISS {case.format} in {case.context}: {redact_text(case.text)[:160]!r}")

    if args.no_transcripts:
        return 0
    texts = transcripts()
    if not texts:
        print("real transcripts not found: skipped")
        return 0
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    count, speed, kinds = engram_on_transcripts(texts)
    print(f"real transcripts: {len(texts)} files, {size:.1f} MB")
    print(f"  engram: {count} redaction(s) {dict(kinds) or ''}; throughput {speed:.1f} MB/s")
    if detect is not None:
        print(f"  detect-secrets: {detect_secrets_on_transcripts(detect, texts)} redaction(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
