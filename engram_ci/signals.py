"""What a transcript's pieces are: reading tool calls and prose for the offline extractor.

A tool call's result says more than its is_error flag: the human may have refused it (and
said why), the agent may have fumbled the tool itself (a stale Edit), or a command really
failed, and then one line of its output names the problem. These readers are small, pure
and heuristic on purpose; offline.py composes them into knowledge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import PurePosixPath
from typing import NamedTuple

from engram_ci.model import Session, ToolCall, Turn
from engram_ci.prompts import clip

LINE_CHARS = 200
#: how much of one text the sentence heuristics read: decisions and causes are stated early,
#: and a bound keeps a huge pasted reply from costing more than a typical one
PROSE_CHARS = 16 * 1024

#: what Python's re, ignoring case, takes for an ASCII letter though lower() does not give
#: that letter: İ and ı match "i", ſ matches "s", the Kelvin sign "k"
_ODD_CASES = ("\u0130", "\u0131", "\u017f", "\u212a")


def folded(text: str) -> bytes | None:
    """`text` in UTF-8 with its ASCII capitals lowered, to look for ASCII words in any case
    with `in` at memchr speed (an IGNORECASE regex scan costs ~30 ns a character, and
    str.lower() on non-ASCII text 5): an ASCII word occurs in `text` in a case that
    re.IGNORECASE accepts only if its lowered bytes are in this. None when `text` holds one
    of _ODD_CASES, which lowering cannot fold: then only the regex can tell."""
    if not text.isascii() and any(odd in text for odd in _ODD_CASES):
        return None
    return text.encode("utf-8", "surrogatepass").lower()


def any_case(*words: str) -> tuple[bytes, ...]:
    """ASCII words to look for in a folded() text with may_contain()."""
    return tuple(word.lower().encode("ascii") for word in words)


def may_contain(folded_text: bytes | None, words: tuple[bytes, ...]) -> bool:
    """False only when none of `words` (from any_case) is in the folded text in any case."""
    return folded_text is None or any(word in folded_text for word in words)


#: bytes.translate table: ASCII capitals lowered, every byte but an ASCII word character
#: (re's \w: letters, digits, "_") made a space
_WORD_BYTES = b"0123456789_abcdefghijklmnopqrstuvwxyz"
_WORDS_ONLY = bytes(b + 32 if 65 <= b <= 90 else b if b in _WORD_BYTES else 32 for b in range(256))


class Held(NamedTuple):
    """Phrases one of which every match of a regex holds: each one's words, and each one as
    words_only() gives it."""

    needs: tuple[frozenset[bytes], ...]
    phrases: tuple[bytes, ...]


def words_only(text: str) -> bytes | None:
    """The ASCII words of `text`, lowered, spaces for everything else: its UTF-8 bytes
    translated (a character beyond ASCII is bytes beyond it), at memchr speed. A phrase of
    whole ASCII words that an IGNORECASE regex finds in `text` is in this too, translated the
    same way (phrases()), and each of its words is one of `words_only(text).split()`. None
    when `text` holds one of _ODD_CASES, which translating cannot fold."""
    if not text.isascii() and any(odd in text for odd in _ODD_CASES):
        return None
    return text.encode("utf-8", "surrogatepass").translate(_WORDS_ONLY)


def held(alternatives: str) -> Held:
    """ "a b|c d": phrases to look for with may_say()."""
    phrases = [phrase.encode("ascii").translate(_WORDS_ONLY) for phrase in alternatives.split("|")]
    return Held(tuple(frozenset(phrase.split()) for phrase in phrases), tuple(phrases))


def may_say(words: bytes | None, present: frozenset[bytes], said: Held) -> bool:
    """False only when no phrase of `said` is in a text, given its words_only() and which
    words of the phrases it holds (`present`, a set intersection with its words, made once
    for several questions): a phrase needs all its words present (most phrases are ruled out
    by that set lookup, all at once in C) and then to be there whole. Sound for a regex of
    whole ASCII words in any case when each of its matches holds one of the phrases, as
    whole words."""
    if words is None:
        return True
    if not any(map(present.issuperset, said.needs)):
        return False
    pairs = zip(said.needs, said.phrases, strict=True)
    return any(need <= present and phrase in words for need, phrase in pairs)


EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit", "apply_patch"})
READ_TOOLS = frozenset({"Read"})
SHELL_TOOLS = frozenset({"Bash", "shell", "shell_command", "exec_command", "local_shell"})
_SHELLS = frozenset({"bash", "sh", "zsh", "powershell", "pwsh"})
#: the files a Codex apply_patch touches
_PATCH_FILE_RE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+)$", re.MULTILINE)
#: the agent's own bookkeeping: their failures say nothing about the project
HOUSEKEEPING_TOOLS = frozenset(
    {"KillShell", "BashOutput", "TodoWrite", "ToolSearch", "SendMessage"}
    | {"TaskCreate", "TaskUpdate", "TaskList", "TaskGet", "TaskOutput", "TaskStop"}
)

_REJECTED = (b"the user doesn't want to", b"tool use was rejected")
_REJECT_REASON_RE = re.compile(r"reason for the rejection:\s*(.+)", re.IGNORECASE | re.DOTALL)
_MISUSE_RE = re.compile(  # look-aheads of first letters: see _FAIL_SUMMARY_RE
    r"(?=[sfhm<irw])(?:string to replace not found|found \d+ matches of the string"
    r"|has not been read yet|modified since read|<tool_use_error>|inputvalidationerror"
    r"|requires approval|was blocked)",
    re.IGNORECASE,
)
#: every match of _MISUSE_RE holds one of these, in some case: see folded()
_MISUSE_WORDS = any_case(
    "to replace not found",
    " matches of the string",
    "has not been read yet",
    "modified since read",
    "<tool_use_error>",
    "inputvalidationerror",
    "requires approval",
    "was blocked",
)
#: a test or lint run's output reporting failures; reports_failure_summary() is its fast twin
_FAIL_SUMMARY_RE = re.compile(r"(?m)^(FAILED |ERROR: )|\b[1-9]\d* (failed|errors?)\b")
_NONZERO_DIGITS = frozenset("123456789")
_EXCEPTION_RE = re.compile(r"^([\w.]+(Error|Exception|Exit|Interrupt|Failure)\b|error\[[\w-]+\])")
_ERROR_WORD_RE = re.compile(
    r"(?=[efncdp])\b(error|fatal|failed|failure|not found|no such file|cannot|denied"
    r"|panic(ked)?)\b",
    re.I,
)
#: lines that never name the problem: pytest's header, verbose passes, warnings, our cut marks
_BANNER_RE = re.compile(
    r"^(=+|-+|_+|\[… truncated|platform |rootdir:|configfile:|testpaths:|plugins:|cachedir:"
    r"|asyncio:|collect|test session starts|warn(ing)?\b|wall time:|output:$)|\bPASSED\b",
    re.IGNORECASE,
)
_EXIT_RE = re.compile(r"^Exit code:? (\d+)")  # Claude Code: "Exit code 1"; Codex: "Exit code: 1"

COMMAND_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Test",
        re.compile(
            r"\b(pytest|py\.test|tox|nox|jest|vitest|mocha|unittest|rspec|phpunit|ctest"
            r"|(go|cargo|npm|pnpm|yarn|bun|make|deno|mix|dotnet) (run )?test)\b"
        ),
    ),
    (
        "Lint",
        re.compile(
            r"\b(ruff|mypy|pyright|ty check|flake8|pylint|black|isort|eslint|prettier|tsc"
            r"|biome|clippy|cargo fmt|gofmt|golangci-lint|shellcheck|actionlint|zizmor)\b"
        ),
    ),
    (
        "Build",
        re.compile(
            r"\b(build|compile|make|install|cargo run|npm (ci|run)|pnpm (add|run)|yarn"
            r"|uv (sync|add)|poetry|docker|gradle|mvn|bundle|pip)\b"
        ),
    ),
    ("Git", re.compile(r"^(git|gh)\b")),
)
#: look-around commands: worth nothing as a procedure
_TRIVIAL_COMMANDS = frozenset(
    (  # noqa: SIM905 -- one word list reads better than fifty quoted lines
        "ls cat head tail grep rg find echo pwd wc which sed awk tree file stat du df sort uniq"
        " cd true sleep date whoami env printenv type diff less more open realpath basename"
        " dirname mkdir touch chmod cp mv rm kill pkill ps lsof curl"
    ).split()
)
_READONLY_GIT = frozenset(
    ("status", "diff", "log", "show", "branch", "remote", "rev-parse", "blame", "ls-files")
)

_FENCE_RE = re.compile(r"```.*?(```|\Z)", re.DOTALL)
_LIST_MARK_RE = re.compile(r"^([-*+•]|\d+[.)])\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")
_NON_WORD_RE = re.compile(r"\W+")
_COMMAND_ARGS_RE = re.compile(r"<command-args>(.*?)</command-args>", re.DOTALL)
_CD_PREFIX_RE = re.compile(r"^(cd \S+ && )+")
_FAILED_OR_ERROR_RE = re.compile(r" (FAILED|ERROR)\b")

#: how procedures are ranked: checks first, housekeeping last
KIND_ORDER = {kind: rank for rank, kind in enumerate(["Test", "Lint", "Build", "Git", "Run"])}


class CallFacts(NamedTuple):
    """What one tool call was, worked out once when the walk meets it (the extractor asks
    each question of a call several times, and the answers cost regex passes over its output).
    Holds no reference to the call itself. A NamedTuple: one is built for every call, and
    that is 3x cheaper than a frozen dataclass."""

    name: str
    is_error: bool
    #: rejection_reason(): None unless the human stopped the call
    rejection: str | None
    failed: bool
    misuse: bool
    command: str | None
    #: command_kind(command), None without a command
    kind: str | None
    #: command, else first path, else the tool's name
    subject: str
    paths: tuple[str, ...]


# ---------------------------------------------------------------- small text helpers


def one_line(text: str, limit: int = LINE_CHARS) -> str:
    return clip(" ".join(text.split()), limit)


def code(text: str, limit: int = 120) -> str:
    """Inline code that survives backticks inside the text."""
    text = one_line(text, limit).replace("`", "'")
    return f"`{text}`"


def sentences(text: str) -> list[str]:
    """Prose sentences of a markdown text (its first PROSE_CHARS): code fences, tables and
    headings dropped."""
    text = _FENCE_RE.sub("\n", text[:PROSE_CHARS])
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("|", "#", ">", "<")):
            continue
        line = _LIST_MARK_RE.sub("", line).replace("**", "")
        for sentence in _SENTENCE_END_RE.split(line):
            sentence = sentence.strip()
            if len(sentence) >= 15 and len(sentence.split()) >= 4:
                found.append(sentence)
    return found


def may_hold(text: str, *patterns: re.Pattern[str]) -> bool:
    """False only when no sentence of `text` can match any of `patterns`: one regex pass over
    the whole text instead of a Python loop over its lines, for the many turns that state
    nothing. Sound because sentences() only removes text (fences, markers, line breaks) and
    unwraps `**`, which is removed here too; the patterns used with it have no anchors.
    """
    window = prose_window(text)
    return any(pattern.search(window) for pattern in patterns)


def prose_window(text: str) -> str:
    """What may_hold scans of a text: its first PROSE_CHARS, `**` removed."""
    text = text[:PROSE_CHARS]
    return text.replace("**", "") if "**" in text else text


def _key(text: str) -> str:
    return _NON_WORD_RE.sub(" ", text.lower()).strip()


def dedupe(items: Iterable[str], cap: int) -> list[str]:
    kept = FirstDistinct(cap)
    kept.extend(items)
    return kept.items


class FirstDistinct:
    """dedupe(items, cap) as the items arrive: the first `cap` items with distinct keys.

    Keeping only these loses nothing for a later dedupe of several such lists joined: an item
    left out already had `cap` distinct items, or one with its key, before it.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[str] = []
        self._seen: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.items) >= self.cap

    def add(self, item: str) -> None:
        if self.full:
            return
        key = _key(item)
        if key and key not in self._seen:
            self._seen.add(key)
            self.items.append(item)

    def extend(self, items: Iterable[str]) -> None:
        for item in items:
            if self.full:
                return
            self.add(item)


class Earliest:
    """dedupe(items sorted by their order, cap) for items that arrive out of order: an item
    left out already has `cap` distinct items, or one with its key, ordered before it, and
    items arriving later only add to those."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._kept: list[tuple[int, str]] = []

    @property
    def items(self) -> list[str]:
        return [item for _, item in self._kept]

    def add(self, order: int, item: str) -> None:
        candidates = sorted([*self._kept, (order, item)], key=lambda pair: pair[0])
        seen: set[str] = set()
        self._kept = []
        for pair in candidates:
            key = _key(pair[1])
            if key and key not in seen and len(self._kept) < self.cap:
                seen.add(key)
                self._kept.append(pair)


def human_text(turn: Turn) -> str | None:
    """The human's words in a prompt, or None for slash commands, command output, interrupts."""
    text = turn.text.strip()
    if not turn.is_prompt or turn.command:
        return None
    if text.startswith(("<local-command", "[Request interrupted", "Caveat:")):
        return None
    if "<command-name>" in text:
        args = _COMMAND_ARGS_RE.search(text)
        return (args.group(1).strip() or None) if args else None
    return text


# ---------------------------------------------------------------- what a call was


def command_of(call: ToolCall) -> str | None:
    value = call.input.get("command") if call.name in SHELL_TOOLS else None
    if isinstance(value, list):  # Codex passes argv, usually ["bash", "-lc", "<script>"]
        argv = [str(part) for part in value]
        wrapped = len(argv) == 3 and argv[0] in _SHELLS and argv[1] in ("-c", "-lc")
        value = argv[2] if wrapped else " ".join(argv)
    if not isinstance(value, str) or not value.strip():
        return None
    first = value.strip().splitlines()[0]
    first = _CD_PREFIX_RE.sub("", first).strip()
    return " ".join(first.split()) + (" …" if "\n" in value.strip() else "")


def paths_of(call: ToolCall, cwd: str | None) -> list[str]:
    """The files a call reads or writes, relative to `cwd` when inside it."""
    if call.name == "apply_patch":
        patch = call.input.get("input") or call.input.get("patch")
        found = _PATCH_FILE_RE.findall(patch) if isinstance(patch, str) else []
    else:
        value = call.input.get("file_path") or call.input.get("notebook_path")
        found = [value] if isinstance(value, str) and value else []
    return [_relative(path.strip(), cwd) for path in found]


def path_of(call: ToolCall, cwd: str | None) -> str | None:
    return next(iter(paths_of(call, cwd)), None)


@lru_cache(maxsize=4096)  # a session names the same few files thousands of times
def _relative(path: str, cwd: str | None) -> str:
    if cwd:
        try:
            return str(PurePosixPath(path).relative_to(cwd))
        except ValueError:
            pass
    return path


def subject_of(call: ToolCall, cwd: str | None) -> str:
    return command_of(call) or path_of(call, cwd) or call.name


def is_rejection(call: ToolCall) -> bool:
    return rejection_reason(call) is not None


def rejection_reason(call: ToolCall) -> str | None:
    """Why the human stopped this call ("" when they gave no reason); None if they didn't.

    Claude Code words a refusal in boilerplate, but when the human stops a command by typing
    a message, that message alone is the tool's "error": short, with no exit code and none of
    an error's words.
    """
    if not call.is_error:
        return None
    result = (call.result or "").strip()
    if not result:
        return None
    # `in result.lower()`, 10x cheaper on a long non-ASCII output: lower() gives an ASCII
    # letter only for that letter's capital, "İ" ("i") and "K" ("k"), and neither phrase
    # holds an i or a k
    lowered = result.encode("utf-8", "surrogatepass").lower()
    if any(phrase in lowered for phrase in _REJECTED):
        reason = _REJECT_REASON_RE.search(result)
        return reason.group(1).strip() if reason else ""
    if call.name not in SHELL_TOOLS or len(result) >= 1000:
        return None
    lines = result.splitlines()
    looks_human = (
        not any(_EXIT_RE.match(line) or _EXCEPTION_RE.match(line) for line in lines)
        and not any(_BANNER_RE.search(line) for line in lines)  # a test run's output
        and not _ERROR_WORD_RE.search(result)
        and not names_misuse(result)
    )
    return result if looks_human else None


def is_misuse(call: ToolCall) -> bool:
    """A failure of how a tool was used (stale Edit, bookkeeping), not of the project."""
    if not call.is_error or is_rejection(call):
        return False
    return call.name in HOUSEKEEPING_TOOLS or names_misuse(call.result or "")


def names_misuse(result: str) -> bool:
    """_MISUSE_RE.search(result), with a cheap exact pre-check: a failed call's output may be
    300 KB, and most name none of its phrases."""
    return may_contain(folded(result), _MISUSE_WORDS) and bool(_MISUSE_RE.search(result))


@lru_cache(maxsize=4096)  # pure, and asked again for every retry pairing
def command_kind(command: str) -> str | None:
    words = command.split()
    if not words or words[0] in _TRIVIAL_COMMANDS:
        return None
    if "--help" in words or "--version" in words:  # looking something up, not a procedure
        return None
    if words[0] == "git" and len(words) > 1 and words[1] in _READONLY_GIT:
        return None
    return next((kind for kind, pattern in COMMAND_KINDS if pattern.search(command)), "Run")


def failed(call: ToolCall) -> bool:
    """An error result, or a test/lint run whose output reports failures though exit was 0."""
    if call.is_error:
        return not is_rejection(call)
    command = command_of(call)
    return bool(command and _reports_failures(command_kind(command), call.result))


def _reports_failures(kind: str | None, output: str | None) -> bool:
    if kind not in ("Test", "Lint") or not output:
        return False
    return reports_failure_summary(output)


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


def facts_of(call: ToolCall, cwd: str | None) -> CallFacts:
    rejection = rejection_reason(call)
    command = command_of(call)
    kind = command_kind(command) if command else None
    if call.is_error:
        failing = rejection is None
        # is_misuse(), without asking rejection_reason() again
        misuse = failing and (call.name in HOUSEKEEPING_TOOLS or names_misuse(call.result or ""))
    else:
        failing = _reports_failures(kind, call.result)
        misuse = False
    paths = tuple(paths_of(call, cwd))
    subject = command or (paths[0] if paths else None) or call.name
    return CallFacts(
        call.name, call.is_error, rejection, failing, misuse, command, kind, subject, paths
    )


def error_line(result: str | None) -> str:
    """The one line of an error output that names the problem ("" when none does)."""
    text = result or ""
    exit_code = None
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        # _EXIT_RE is anchored on its literal start: the cheap test first
        if line.startswith("Exit code") and (exit_match := _EXIT_RE.match(line)):
            exit_code = exit_code or exit_match.group(1)
        else:
            lines.append(line)
    # banners never name the problem; asking only of candidates spares a search per line
    pick = next((line for line in _candidates(text, lines) if not _BANNER_RE.search(line)), None)
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
        yield from (line for line in reversed(lines) if _EXCEPTION_RE.match(line))
    if "FAILED " in text:
        yield from (line for line in lines if line.startswith("FAILED "))  # names the test
    if "E  " in text:
        yield from (line for line in lines if line.startswith("E  "))
    if " FAILED" in text or " ERROR" in text:
        yield from (line for line in lines if _FAILED_OR_ERROR_RE.search(line))
    yield from (line for line in lines if _ERROR_WORD_RE.search(line))
    yield from lines


# ---------------------------------------------------------------- session walk


def agents(session: Session) -> Iterator[tuple[str | None, Iterable[Turn]]]:
    """The main thread's turns, then each subagent's (depth first), in order.

    A large session's turns are read back from disk as they are iterated: walk each once.
    """
    yield session.agent_id, session.turns
    for sub in session.subagents:
        for agent, turns in agents(sub):
            yield agent or sub.session_id, turns


def retry_matches(failed_subject: str, later_subject: str) -> bool:
    """The later call re-runs the failed one: the same command, or, for a failed test run,
    any later test run (a broken test is fixed when the suite passes again, however invoked).
    """
    if failed_subject == later_subject:
        return True
    return command_kind(failed_subject) == command_kind(later_subject) == "Test"
