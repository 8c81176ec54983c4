"""Knowledge quality benchmark (issue 10, item 7): how much of what a future session needs does
context.md hold, within its budget, and how much of it is noise.

    python benchmarks/knowledge.py                 # the default budget, 6,000 characters
    python benchmarks/knowledge.py --budget 4000   # a tighter brief
    python benchmarks/knowledge.py --show          # print the facts each context misses

It ingests the real corpus (../shared/corpus/claude-code) offline into a temporary memory
folder, reads each project's context.md and scores it against benchmarks/knowledge_labels.json:
facts labelled by reading the transcripts (what the human wants, commands that work, pitfalls
and their fixes, decisions and their reasons, what was done, what was left open), each with an
importance and a few key terms taken from the transcript. A fact is held when one line of the
context holds all its terms (a term "a|b" takes either spelling), case-insensitively: the terms
come from the source, so the extractor cannot be tuned to them without learning the fact.

Noise is the share of the context's bullets that are duplicates (the same words as an earlier
bullet), clipped ("…"), assistant narration ("I'll…", "Let me…") or tool-count lines.
Targets: >= 85% of high-importance facts, >= 70% of all, <= 5% noise, every context within budget.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engram_ci.ingest import IngestOptions, run_ingest  # noqa: E402
from engram_ci.knowledge.context import DEFAULT_BUDGET  # noqa: E402

#: ../shared beside the checkout (a worktree under /work/wt/ looks two levels up)
CORPUS = next(
    (
        base / "shared" / "corpus" / "claude-code" / "projects"
        for base in (ROOT.parent, ROOT.parent.parent)
        if (base / "shared" / "corpus" / "claude-code" / "projects").is_dir()
    ),
    ROOT.parent / "shared" / "corpus" / "claude-code" / "projects",
)
LABELS = Path(__file__).with_name("knowledge_labels.json")
_NARRATION_RE = re.compile(
    r"^(i'll|i will|i'm going|i am going|let me|let's (?:start|check|look|see)|now (?:i|let)"
    r"|perfect|great|excellent|you're (?:absolutely )?right|sure[,!])\b",
    re.IGNORECASE,
)
_TOOL_COUNT_RE = re.compile(r"session used|\btools? \w+ \d+,", re.IGNORECASE)
_WORD_RE = re.compile(r"\W+")


def held(line: str, terms: list[str]) -> bool:
    lowered = line.lower()
    return all(any(alt.lower() in lowered for alt in term.split("|")) for term in terms)


def score(context: str, facts: list[dict[str, Any]]) -> tuple[list[bool], int, int]:
    """Which facts the context holds; and its bullets, noisy and all."""
    lines = context.splitlines()
    found = [any(held(line, fact["terms"]) for line in lines) for fact in facts]
    bullets = [line[2:] for line in lines if line.startswith("- ")]
    seen: set[str] = set()
    noisy = 0
    for bullet in bullets:
        key = _WORD_RE.sub(" ", bullet.lower()).strip()
        body = bullet.split(": ", 1)[-1] if re.match(r"^[A-Z][\w ]{0,24}: ", bullet) else bullet
        if (
            key in seen
            or "…" in bullet
            or bullet.rstrip().endswith("...")
            or _NARRATION_RE.match(body.strip("*_ "))
            or _TOOL_COUNT_RE.search(bullet)
        ):
            noisy += 1
        seen.add(key)
    return found, noisy, len(bullets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="context.md budget")
    parser.add_argument("--show", action="store_true", help="list the facts each context misses")
    args = parser.parse_args(argv)
    labels: dict[str, list[dict[str, Any]]] = json.loads(LABELS.read_text())
    labels.pop("_about", None)
    with tempfile.TemporaryDirectory() as tmp:
        memory = Path(tmp) / "memory"
        run_ingest(
            IngestOptions(
                memory_dir=memory, claude_roots=(CORPUS,), jobs=1, context_budget=args.budget
            )
        )
        contexts = {
            project: (memory / "knowledge" / project / "context.md").read_text()
            if (memory / "knowledge" / project / "context.md").exists()
            else ""
            for project in labels
        }
    totals = {"high": [0, 0], "all": [0, 0], "noise": [0, 0]}
    over = 0
    print(f"{'project':28} {'chars':>6} {'high':>7} {'all':>7} {'noise':>7}")
    for project, facts in labels.items():
        context = contexts[project]
        found, noisy, bullets = score(context, facts)
        high = [f for f, fact in zip(found, facts, strict=True) if fact["importance"] == "high"]
        totals["high"][0] += sum(high)
        totals["high"][1] += len(high)
        totals["all"][0] += sum(found)
        totals["all"][1] += len(found)
        totals["noise"][0] += noisy
        totals["noise"][1] += bullets
        over += len(context) > args.budget
        print(
            f"{project:28} {len(context):>6} {sum(high):>3}/{len(high):<3} "
            f"{sum(found):>3}/{len(found):<3} {noisy:>3}/{bullets:<3}"
        )
        if args.show:
            for hit, fact in zip(found, facts, strict=True):
                if not hit:
                    print(f"    missed ({fact['importance']}, {fact['kind']}): {fact['fact']}")
    share = {k: (n / d if d else 0.0) for k, (n, d) in totals.items()}
    print(
        f"\nhigh-importance facts held: {share['high']:.0%} (target >= 85%)\n"
        f"all facts held:             {share['all']:.0%} (target >= 70%)\n"
        f"noise bullets:              {share['noise']:.1%} (target <= 5%)\n"
        f"contexts over the {args.budget:,}-character budget: {over}"
    )
    met = share["high"] >= 0.85 and share["all"] >= 0.70 and share["noise"] <= 0.05 and not over
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
