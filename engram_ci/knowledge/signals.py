"""What a transcript's pieces are: reading tool calls for the offline extractor.

A tool call's result says more than its is_error flag: the human may have refused it (and
said why), the agent may have fumbled the tool itself (a stale Edit), or a command really
failed, and then one line of its output names the problem. These readers are small, pure
and heuristic on purpose; offline.py, tally.py and fixes.py compose them into knowledge.
outputs.py reads a command's output, phrases.py the prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import PurePosixPath
from typing import NamedTuple

from engram_ci.knowledge.phrases import any_case, folded, may_contain, one_line
from engram_ci.knowledge.tool_output import (
    BANNER_RE,
    ERROR_WORD_RE,
    EXCEPTION_RE,
    EXIT_RE,
    reports_failure_summary,
)
from engram_ci.transcripts.model import Session, ToolCall, ToolKind, Turn

__all__ = [
    "ANSWER_RE",
    "KIND_ORDER",
    "SHELL_TOOLS",
    "CallFacts",
    "Earliest",
    "FirstDistinct",
    "agents",
    "canonical_command",
    "code",
    "command_kind",
    "command_of",
    "dedupe",
    "denial",
    "facts_of",
    "failed",
    "human_text",
    "is_edit",
    "is_misuse",
    "is_outside_cwd",
    "is_rejection",
    "names_misuse",
    "path_of",
    "paths_of",
    "rejection_reason",
    "retry_matches",
    "subject_of",
]

#: what a call does comes from ToolCall.kind (each reader maps its agent's tool names);
#: these vendor names are the fallback for calls built without a kind
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit", "apply_patch"})
READ_TOOLS = frozenset({"Read"})
SHELL_TOOLS = frozenset({"Bash", "shell", "shell_command", "exec_command", "local_shell"})
EDIT_KINDS: frozenset[ToolKind] = frozenset({"edit", "write"})
#: where tools name the file they read or write (Claude Code, Codex, Gemini, Cursor, …)
_PATH_KEYS = ("file_path", "notebook_path", "path", "filePath", "absolute_path", "target_file")
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
#: the agent's permission settings refusing a call: a wall the next session in the same setup
#: meets again (context.md tells it, as a pitfall), in our words: the output that said so is
#: a tool's, and no tool's words become memory
_DENIALS = (
    ("requires approval", "needs approval in this setup"),
    ("was blocked", "was blocked by the permission settings"),
    ("haven't granted it yet", "needs a permission not granted in this setup"),
)
_DENIAL_PHRASES = tuple(phrase for phrase, _ in _DENIALS)
#: a failure of how a tool was used, a denial among them; the look-ahead holds the first
#: letter of every phrase, so re skips to candidates
_MISUSE_RE = re.compile(
    r"(?=[sfhm<irw])(?:string to replace not found|found \d+ matches of the string"
    r"|has not been read yet|modified since read|<tool_use_error>|inputvalidationerror|"
    + "|".join(map(re.escape, _DENIAL_PHRASES))
    + ")",
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
    *_DENIAL_PHRASES,
)

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

_NON_WORD_RE = re.compile(r"\W+")
_LOOKUP_FLAGS = frozenset({"--help", "--version", "--collect-only", "--markers", "-h"})
#: an AskUserQuestion result's answers: "question"="answer"
ANSWER_RE = re.compile(r'"([^"]+)"="([^"]*)"')
_COMMAND_ARGS_RE = re.compile(r"<command-args>(.*?)</command-args>", re.DOTALL)
_CD_PREFIX_RE = re.compile(r"^(cd \S+ && )+")
#: trailing output plumbing: redirections of stderr and pipes into pagers and filters
_PLUMBING_RE = re.compile(
    r"(\s+2>(&1|/dev/null))+(?=\s*(\||$))|(\s*\|\s*(head|tail|less|more|grep|wc)\b[^|]*)+$"
)

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
    #: what the tool does (ToolCall.kind, else from the vendor name): "edit", "read", …
    tool: ToolKind = "other"


# ---------------------------------------------------------------- small text helpers


def code(text: str, limit: int = 120) -> str:
    """Inline code that survives backticks inside the text."""
    text = one_line(text, limit).replace("`", "'")
    return f"`{text}`"


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
    value = (call.input.get("command") or call.input.get("cmd")) if is_shell(call) else None
    if isinstance(value, list):  # Codex passes argv, usually ["bash", "-lc", "<script>"]
        argv = [str(part) for part in value]
        wrapped = len(argv) == 3 and argv[0] in _SHELLS and argv[1] in ("-c", "-lc")
        value = argv[2] if wrapped else " ".join(argv)
    if not isinstance(value, str) or not value.strip():
        return None
    first = canonical_command(value.strip().splitlines()[0])
    return first + (" …" if "\n" in value.strip() else "") if first else None


def canonical_command(line: str) -> str:
    """One command line as a procedure: no leading `cd x &&`, no output plumbing (`2>&1`,
    `| head -20`) that only trimmed what the agent read."""
    line = line.strip()
    # each regex only where it can match (most commands have neither): a `cd` prefix opens
    # the line, plumbing needs a "2>" or a "|"; the regex scan tries every position
    if line.startswith("cd "):
        line = _CD_PREFIX_RE.sub("", line)
    if "2>" in line or "|" in line:
        line = _PLUMBING_RE.sub("", line)
    return " ".join(line.split())


def is_shell(call: ToolCall) -> bool:
    return call.kind == "shell" or call.name in SHELL_TOOLS


def is_edit(call: ToolCall) -> bool:
    """The call changes a file (an edit, a patch, a whole-file write)."""
    return call.kind in EDIT_KINDS or call.name in EDIT_TOOLS


def is_read(call: ToolCall) -> bool:
    return call.kind == "read" or call.name in READ_TOOLS


def paths_of(call: ToolCall, cwd: str | None) -> list[str]:
    """The files a call reads or writes, relative to `cwd` when inside it."""
    patch = call.input.get("input") or call.input.get("patch")
    if call.name == "apply_patch" or (call.kind == "edit" and isinstance(patch, str)):
        found = _PATCH_FILE_RE.findall(patch) if isinstance(patch, str) else []
    else:  # only file tools' `path` names a file (a search's is a folder)
        keys = _PATH_KEYS if call.kind in ("read", "edit", "write") else _PATH_KEYS[:2]
        value = next((call.input[k] for k in keys if call.input.get(k)), None)
        found = [value] if isinstance(value, str) and value else []
    return [_relative(path.strip(), cwd) for path in found]


def path_of(call: ToolCall, cwd: str | None) -> str | None:
    return next(iter(paths_of(call, cwd)), None)


@lru_cache(maxsize=4096)  # a session names the same few files thousands of times
def _relative(path: str, cwd: str | None) -> str:
    if cwd:
        try:
            return _outside_agent_worktree(str(PurePosixPath(path).relative_to(cwd)))
        except ValueError:
            pass
    return path


def is_outside_cwd(path: str) -> bool:
    """A path paths_of() gave back: _relative leaves one absolute only when it is outside the
    session's directory (or the session has none)."""
    return path.startswith(("/", "~", "\\")) or (len(path) > 2 and path[1] == ":")


def _outside_agent_worktree(path: str) -> str:
    """`.claude/worktrees/agent-a4ca/src/app.py` -> `src/app.py`: Claude Code checks the
    repository out again for each subagent there, so one file would be listed once per
    worktree, under names no later session has."""
    parts = path.split("/", 3)
    if len(parts) == 4 and parts[0] == ".claude" and parts[1] == "worktrees" and parts[2]:
        return parts[3]
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
    if not is_shell(call) or len(result) >= 1000:
        return None
    lines = result.splitlines()
    looks_human = (
        not any(EXIT_RE.match(line) or EXCEPTION_RE.match(line) for line in lines)
        and not any(BANNER_RE.search(line) for line in lines)  # a test run's output
        and not ERROR_WORD_RE.search(result)
        and not names_misuse(result)
    )
    return result if looks_human else None


def is_misuse(call: ToolCall) -> bool:
    """A failure of how a tool was used (stale Edit, bookkeeping), not of the project."""
    if not call.is_error or is_rejection(call):
        return False
    return call.name in HOUSEKEEPING_TOOLS or names_misuse(call.result or "")


def denial(call: ToolCall, facts: CallFacts) -> str | None:
    """What the agent's permission settings refused, as a pitfall line; None for any other
    call. Only a misuse can be one (its phrases are misuse phrases), so most calls cost nothing."""
    if not facts.misuse:
        return None
    lowered = (call.result or "").lower()
    said = next((ours for phrase, ours in _DENIALS if phrase in lowered), None)
    return f"Blocked: {code(facts.subject, 80)} {said}" if said else None


def names_misuse(result: str) -> bool:
    """_MISUSE_RE.search(result), with a cheap exact pre-check: a failed call's output may be
    300 KB, and most name none of its phrases."""
    return may_contain(folded(result), _MISUSE_WORDS) and bool(_MISUSE_RE.search(result))


@lru_cache(maxsize=4096)  # pure, and asked again for every retry pairing
def command_kind(command: str) -> str | None:
    words = command.split()
    if not words or words[0] in _TRIVIAL_COMMANDS:
        return None
    if _LOOKUP_FLAGS.intersection(words):  # looking something up, not a procedure
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
    tool: ToolKind = "edit" if is_edit(call) else "read" if is_read(call) else call.kind
    return CallFacts(
        call.name, call.is_error, rejection, failing, misuse, command, kind, subject, paths, tool
    )


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
