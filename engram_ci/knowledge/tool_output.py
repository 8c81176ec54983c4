"""What a command's output says: the one line naming its problem, and whether a test or
lint run that exited 0 reports failures anyway. Outputs run to hundreds of KB of numbered
lines, so each reader looks only where what it wants can be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engram_ci.knowledge.phrases import one_line

__all__ = [
    "BANNER_RE",
    "ERROR_WORD_RE",
    "EXCEPTION_RE",
    "EXIT_RE",
    "LINT_RE",
    "error_line",
    "reports_failure_summary",
]

#: a test or lint run's output reporting failures; reports_failure_summary() is its fast twin
_FAIL_SUMMARY_RE = re.compile(r"(?m)^(FAILED |ERROR: )|\b[1-9]\d* (failed|errors?)\b")
_NONZERO_DIGITS = frozenset("123456789")
EXCEPTION_RE = re.compile(r"^([\w.]+(Error|Exception|Exit|Interrupt|Failure)\b|error\[[\w-]+\])")
ERROR_WORD_RE = re.compile(
    r"(?=[efncdp])\b(error|fatal|failed|failure|not found|no such file|cannot|denied"
    r"|panic(ked)?)\b",
    re.I,
)
#: lines that never name the problem: pytest's header, verbose passes, warnings, our cut marks
BANNER_RE = re.compile(
    r"^(=+|-+|_+|\[… truncated|platform |rootdir:|configfile:|testpaths:|plugins:|cachedir:"
    r"|asyncio:|collect|test session starts|warn(ing)?\b|wall time:|output:$)|\bPASSED\b",
    re.IGNORECASE,
)
EXIT_RE = re.compile(r"^Exit code:? (\d+)")  # Claude Code: "Exit code 1"; Codex: "Exit code: 1"
_FAILED_OR_ERROR_RE = re.compile(r" (FAILED|ERROR)\b")
#: a linter's diagnostic, its rule code first (ruff, flake8, pylint), after `path:line:col: `
#: when concise: it names the problem where the summary below it only counts ("Found 1 error.")
LINT_RE = re.compile(r"^(?:\S+?:\d+(?::\d+)?:? )?[A-Z]{1,4}\d{3,4}\b")


def reports_failure_summary(output: str) -> bool:
    """bool(_FAIL_SUMMARY_RE.search(output)), by hand: str.find jumps between the few places
    the words occur, where the regex tries every digit of an output full of line numbers."""
    if output.startswith(("FAILED ", "ERROR: ")) or "\nFAILED " in output or "\nERROR: " in output:
        return True
    return _counted(output, " failed") or _counted(output, " error")


def _counted(output: str, word: str) -> bool:
    r"""`\b[1-9]\d*` + word + `\b` in output; " error" may be " errors"."""
    at = output.find(word, 1)  # the count comes first
    while at > 0:
        if output[at - 1].isdecimal() and _count_before(output, at):
            end = at + len(word)
            if word == " error" and output.startswith("s", end):
                end += 1  # "errors?" is greedy, and no word boundary follows "error" + "s"
            if end == len(output) or not _is_word(output[end]):
                return True
        at = output.find(word, at + 1)
    return False


def _count_before(output: str, end: int) -> bool:
    r"""The decimal digits before `end` (\d is str.isdecimal) make a word of their own that
    starts with an ASCII 1-9: a `\b[1-9]\d*` match can only start where the run starts."""
    start = end - 1
    while start > 0 and output[start - 1].isdecimal():
        start -= 1
    return output[start] in _NONZERO_DIGITS and (start == 0 or not _is_word(output[start - 1]))


def _is_word(char: str) -> bool:
    r"""re's \w for str patterns."""
    return char.isalnum() or char == "_"


def error_line(result: str | None) -> str:
    """The one line of an error output that names the problem ("" when none does)."""
    text = result or ""
    exit_code = None
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        # EXIT_RE is anchored on its literal start: the cheap test first
        if line.startswith("Exit code") and (exit_match := EXIT_RE.match(line)):
            exit_code = exit_code or exit_match.group(1)
        else:
            lines.append(line)
    # banners never name the problem; asking only of candidates spares a search per line
    pick = next((line for line in _candidates(text, lines) if not BANNER_RE.search(line)), None)
    if pick:
        return one_line(pick.removeprefix("<tool_use_error>").removesuffix("</tool_use_error>"))
    return f"exit code {exit_code}" if exit_code else ""


def _candidates(text: str, lines: list[str]) -> Iterator[str]:
    """The lines that may name an output's problem, best first. Each kind is looked for only
    when the whole output holds the (case-sensitive) word it needs, found at memchr speed."""
    if any(word in text for word in ("Error", "Exception", "Exit", "Interrupt", "Failure")) or (
        "error[" in text
    ):
        # a traceback ends with the exception that matters
        yield from (line for line in reversed(lines) if EXCEPTION_RE.match(line))
    if "FAILED " in text:
        yield from (line for line in lines if line.startswith("FAILED "))  # names the test
    if "E  " in text:
        yield from (line for line in lines if line.startswith("E  "))
    if " FAILED" in text or " ERROR" in text:
        yield from (line for line in lines if _FAILED_OR_ERROR_RE.search(line))
    yield from (line for line in lines if LINT_RE.match(line))
    yield from (line for line in lines if ERROR_WORD_RE.search(line))
    yield from lines
