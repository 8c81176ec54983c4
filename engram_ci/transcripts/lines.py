"""What the transcript readers (claude.py, codex.py) share.

Both formats are JSON Lines written by an agent while it works, so both readers need the same
three things: a line stream whose memory is bounded by one line (never by the file), a parser
that sorts every bad line into a counted reason instead of raising, and truncation that keeps
the parsed `Session` small however large the tool outputs were (and drops `<private>` text:
see private.py). Project naming from a `cwd`
lives here too, because project names become folder names in ~/memory.
"""

from __future__ import annotations

import bisect
import heapq
import os
import re
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import ParseStats, Session, Turn, check_project_name
from engram_ci.transcripts.private import strip_private

__all__ = [
    "INPUT_VALUE_LIMIT",
    "KEEP_BUDGET",
    "MAX_LINE_BYTES",
    "REPLY_FLOOR",
    "RESULT_LIMIT",
    "STUB_LIMIT",
    "TEXT_LIMIT",
    "THINKING_LIMIT",
    "Budget",
    "SeenHashes",
    "clip",
    "clip_input",
    "has_conversation",
    "iter_lines",
    "join_paragraphs",
    "keep_worktree_apart",
    "parse_object",
    "pick_project",
    "project_from_folder",
    "read_head",
    "sniff_type",
    "text_of",
    "timestamp_of",
]

#: lines longer than this are skipped (counted as too_long) without ever being held whole;
#: real lines reach a few MB (pasted images), a hostile one may be 50 MB or more
MAX_LINE_BYTES = 32 * 1024 * 1024
#: how much of a transcript is read at a time
_READ_CHUNK = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
#: how far into a line sniff_type looks for its "type" key
_SNIFF_WINDOW = 2048
_TYPE_KEY = b'"type":'

#: what a Session keeps of each piece of text; the rest is cut with a note of the full size
TEXT_LIMIT = 32 * 1024
RESULT_LIMIT = 4 * 1024
THINKING_LIMIT = 4 * 1024
INPUT_VALUE_LIMIT = 2 * 1024
#: text one transcript keeps at the limits above; past it, results, thinking and inputs keep
#: STUB_LIMIT chars and replies REPLY_FLOOR, so a session's memory stops growing with the
#: file (a 40 MB transcript keeps about this much; prompts are always kept up to TEXT_LIMIT)
KEEP_BUDGET = 4_000_000
STUB_LIMIT = 300
REPLY_FLOOR = 2_000
_INPUT_MAX_DEPTH = 8
_INPUT_MAX_ITEMS = 200


def iter_lines(
    path: str | os.PathLike[str],
    stats: ParseStats,
    max_line_bytes: int = MAX_LINE_BYTES,
    *,
    chunk_bytes: int = _READ_CHUNK,
) -> Iterator[bytes]:
    """Yield each non-blank line of `path` as bytes, counting lines and bytes in `stats`.

    Reads in binary (decoding is the JSON parser's job, so invalid UTF-8 is caught per line),
    a chunk at a time, cutting lines out of each chunk: half the cost of readline, which
    copies every line through the file's buffer. A line longer than `max_line_bytes` is
    counted as too_long and skipped without ever being held whole. A UTF-8 byte order mark
    opening the file is dropped (editors add one; the JSON parser would refuse the line).
    """
    head: list[bytes] = []  # the start of a line that continues in the next chunk
    held = 0  # bytes in `head`
    skipping = False  # inside a too-long line: dropping bytes until its newline
    with _open_binary(path) as fh:
        lead = _read(fh, len(_BOM), stats)
        if lead == _BOM:
            stats.bytes += len(_BOM)
            lead = b""
        while chunk := lead + _read(fh, chunk_bytes, stats):
            lead, start = b"", 0
            end = chunk.find(b"\n")
            if end >= 0 and (skipping or head):  # the line carried over from earlier ends here
                held += end + 1
                if skipping:
                    _count_too_long(stats, held)
                else:
                    yield from _line(b"".join([*head, chunk[: end + 1]]), stats, max_line_bytes)
                head, held, skipping, start = [], 0, False, end + 1
                end = chunk.find(b"\n", start)
            while end >= 0:  # the hot loop: _line's rule written out, no generator per line
                stats.lines += 1
                stats.bytes += end + 1 - start
                if end - start > max_line_bytes:
                    stats.malformed["too_long"] += 1
                else:
                    line = chunk[start : end + 1]
                    if not line.isspace():
                        yield line
                start = end + 1
                end = chunk.find(b"\n", start)
            if start < len(chunk):  # a line that continues in the next chunk
                held += len(chunk) - start
                if not skipping:
                    head.append(chunk[start:])
                    if held > max_line_bytes:
                        head, skipping = [], True
    if skipping:
        _count_too_long(stats, held)
    elif head:  # the last line has no newline
        yield from _line(b"".join(head), stats, max_line_bytes)


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """The file's bytes; a `.zst` file (Codex compresses week-old rollouts) decompressed as
    it is read, a chunk at a time, whatever its size."""
    name = os.fspath(path)
    if name.endswith(".zst"):
        import zstandard  # only when a compressed file turns up: keeps startup fast

        raw = open(name, "rb")  # noqa: SIM115 (the reader closes it)
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return cast(BinaryIO, reader)
    return open(name, "rb", buffering=0)


def read_head(path: str | os.PathLike[str], size: int) -> bytes:
    """The first `size` bytes of a transcript (decompressed), b"" when unreadable: for
    discovery that only needs a file's opening (who its parent is)."""
    name = os.fspath(path)
    try:
        if name.endswith(".zst"):
            with _open_binary(name) as fh:
                return _read(fh, size, ParseStats())
        # a plain file: one open and one read, no file object (discovery peeks at every
        # Codex rollout on every run, an unchanged re-ingest included)
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.read(fd, size)
        finally:
            os.close(fd)
    except OSError:
        return b""


def _read(fh: BinaryIO, size: int, stats: ParseStats) -> bytes:
    """fh.read(size); a corrupt compressed stream ends the file there, counted as bad_zstd."""
    if fh.closed:
        return b""
    try:
        return fh.read(size)
    except Exception as error:  # zstandard.ZstdError, without importing zstandard here
        if type(error).__name__ != "ZstdError":
            raise
        stats.malformed["bad_zstd"] += 1
        fh.close()  # the rest of the stream is lost: later reads see the end
        return b""


def _line(line: bytes, stats: ParseStats, max_line_bytes: int) -> Iterator[bytes]:
    stats.lines += 1
    stats.bytes += len(line)
    if len(line) - line.endswith(b"\n") > max_line_bytes:
        stats.malformed["too_long"] += 1
    elif not line.isspace():
        yield line


def _count_too_long(stats: ParseStats, size: int) -> None:
    stats.lines += 1
    stats.bytes += size
    stats.malformed["too_long"] += 1


def parse_object(line: bytes, stats: ParseStats) -> dict[str, Any] | None:
    """The line as a JSON object, or None with the reason counted in stats.malformed."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        stats.malformed[_decode_failure(line)] += 1
        return None
    if not isinstance(value, dict):
        stats.malformed["not_object"] += 1
        return None
    return value


def _decode_failure(line: bytes) -> str:
    # only on the error path: orjson reports bad UTF-8 and bad JSON alike
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    return "bad_json"


def sniff_type(line: bytes) -> bytes | None:
    """The line's top-level "type" value read from its bytes, or None when unsure.

    Sound because `"type":` can only appear unescaped as a key (inside a string its quotes
    are escaped), and when no '{' or '[' opens before it, that key belongs to the top-level
    object. (Claude Code's assistant lines put "type" after "message": always parsed.)
    """
    if not line.startswith(b"{"):
        return None
    at = line.find(_TYPE_KEY, 1, _SNIFF_WINDOW)
    if at < 0 or line.find(b"{", 1, at) >= 0 or line.find(b"[", 1, at) >= 0:
        return None
    value = line[at + 7 : at + 80].lstrip()
    end = value.find(b'"', 1)
    if not value.startswith(b'"') or end < 0 or b"\\" in value[:end]:
        return None
    return value[1:end]


def clip(text: str, limit: int) -> str:
    """`text` without its `<private>` parts, cut to `limit` characters, noting how long it
    was so nothing looks complete.

    Every piece of text a reader keeps passes through here (Budget.clip, clip_input, text_of
    and the readers' own calls), which makes it the one place private text is dropped: before
    the cut, so a clipped closing tag cannot expose what it closed.
    """
    text = strip_private(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[… truncated: {len(text):,} chars in all]"


def join_paragraphs(existing: str, more: str) -> str:
    """`more` as a paragraph after `existing`: how a reply that arrives in blocks (Claude's
    content blocks, Codex's reasoning items) becomes one text."""
    return f"{existing}\n\n{more}" if existing else more


class Budget:
    """How much text a transcript may still keep in full (see KEEP_BUDGET)."""

    def __init__(self, total: int = KEEP_BUDGET) -> None:
        self.left = total

    def limit(self, limit: int, floor: int = STUB_LIMIT) -> int:
        return limit if self.left > 0 else min(limit, floor)

    def clip(self, text: str, limit: int, floor: int = STUB_LIMIT) -> str:
        kept = clip(text, self.limit(limit, floor))
        self.left -= len(kept)
        return kept


def clip_input(value: Any, limit: int = INPUT_VALUE_LIMIT, depth: int = 0) -> Any:
    """A tool input with every long string clipped and deep or huge structures cut short.

    Keeps the shape (file_path, command, pattern stay readable for the extractor) while a
    Write's 5 MB `content` shrinks to its first few KB.
    """
    if isinstance(value, str):
        return clip(value, limit)
    if depth >= _INPUT_MAX_DEPTH:
        return "[… nested too deep]" if isinstance(value, dict | list) else value
    if isinstance(value, dict):
        items = list(value.items())[:_INPUT_MAX_ITEMS]
        return {str(k): clip_input(v, limit, depth + 1) for k, v in items}
    if isinstance(value, list):
        return [clip_input(v, limit, depth + 1) for v in value[:_INPUT_MAX_ITEMS]]
    return value


def text_of(content: Any, limit: int = RESULT_LIMIT) -> str:
    """Readable text of a tool result's content: a string, or a list of text/image blocks."""
    if isinstance(content, str):
        return clip(content, limit)
    if not isinstance(content, list):
        return "" if content is None else clip(str(content), limit)
    parts: list[str] = []
    size = 0
    for block in content:
        if isinstance(block, dict):
            kind = block.get("type")
            piece = block.get("text") if kind == "text" else f"[{kind}]"
        else:
            piece = block
        if isinstance(piece, str):
            parts.append(piece)
            size += len(piece)
            if size > limit:  # stop collecting early: the rest would be cut anyway
                break
    return clip("\n".join(parts), limit)


class SeenHashes:
    """A set of 64-bit hashes at 8 bytes each (a Python set of ints costs about 70 a member):
    a transcript's line uuids, so a 1 GB file's duplicate check stays small.

    New members gather in a small set; when it fills it becomes a sorted array, and arrays of
    similar size merge (like an LSM tree), so a lookup is a few binary searches.
    """

    def __init__(self, buffer: int = 4096) -> None:
        self._buffer = buffer
        self._recent: set[int] = set()
        self._sorted: list[array[int]] = []  # largest first

    def __contains__(self, value: int) -> bool:
        if value in self._recent:
            return True
        for members in self._sorted:
            at = bisect.bisect_left(members, value)
            if at < len(members) and members[at] == value:
                return True
        return False

    def add(self, value: int) -> None:
        self._recent.add(value)
        if len(self._recent) < self._buffer:
            return
        members = array("q", sorted(self._recent))
        self._recent.clear()
        while self._sorted and len(self._sorted[-1]) <= len(members):
            members = array("q", heapq.merge(self._sorted.pop(), members))
        self._sorted.append(members)


def timestamp_of(obj: dict[str, Any]) -> str | None:
    value = obj.get("timestamp")
    return value if isinstance(value, str) and value else None


def project_from_cwd(cwd: str | None) -> str | None:
    """The last path component of a cwd (POSIX or Windows), made safe as a folder name; for a
    git worktree of a repository (see worktree_of), the repository's name."""
    if not cwd:
        return None
    parts = _components(cwd)
    if not parts or re.fullmatch(r"[A-Za-z]:", parts[-1]):
        return None
    worktree = _worktree_parts(parts)
    return safe_project_name(worktree[0] if worktree else parts[-1])


def worktree_of(cwd: str | None) -> tuple[str, str] | None:
    """(repository, worktree) names when `cwd` is a worktree folder beside or inside its
    repository: <repo>/worktrees/<name>, <repo>/.claude/worktrees/<name> (Claude Code's own),
    <repo>-worktrees/<name> or <repo>.worktrees/<name>. A plain ~/worktrees/<name> names no
    repository and is not one. One repository's sessions then share its project."""
    found = _worktree_parts(_components(cwd)) if cwd else None
    if found is None:
        return None
    repo, name = (safe_project_name(part) for part in found)
    return (repo, name) if repo and name else None


def keep_worktree_apart(session: Session) -> None:
    """`ingest --keep-worktrees`: a session in a worktree goes to a project named after the
    worktree instead of its repository's (its subagents follow it)."""
    found = worktree_of(session.cwd)
    if found is not None and session.project == found[0]:
        for each in (session, *session.subagents):
            each.project = found[1]


_WORKTREE_SUFFIXES = ("-worktrees", ".worktrees", "_worktrees")


def _components(cwd: str) -> list[str]:
    return [p for p in re.split(r"[\\/]+", cwd.strip()) if p]


def _worktree_parts(parts: list[str]) -> tuple[str, str] | None:
    if len(parts) < 3:
        return None
    holder, name = parts[-2], parts[-1]
    if holder.endswith(_WORKTREE_SUFFIXES) and len(holder) > len("-worktrees"):
        return holder[: -len("-worktrees")], name
    if holder != "worktrees":
        return None
    repo_at = -4 if parts[-3] == ".claude" else -3
    if len(parts) < -repo_at or (len(parts) > -repo_at and parts[repo_at - 1] in ("home", "Users")):
        return None  # /home/<user>/worktrees/<name>: a folder of worktrees, not a repository
    return parts[repo_at], name


def safe_project_name(raw: str) -> str | None:
    """`raw` if check_project_name accepts it, else a sanitized version, else None."""
    try:
        return check_project_name(raw)
    except FatalError:
        pass
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]+", "-", raw).strip().lstrip(".").strip("-")
    cleaned = cleaned.encode()[:200].decode("utf-8", "ignore")
    try:
        return check_project_name(cleaned)
    except FatalError:
        return None


def project_from_folder(folder_name: str) -> str | None:
    """Guess a project from Claude Code's encoded folder name ("-Users-me-work-app" -> "app").

    The encoding replaced every non-alphanumeric character with '-', so this is lossy; it is
    only used when no line of the session carries a `cwd`. Drops the home prefix and a
    usual code folder, keeping the rest ("-Users-me-workspace-my-app" -> "my-app").
    """
    name = folder_name.strip("-")
    name = re.sub(r"^(Users|home)-[^-]+-", "", name)
    name = re.sub(r"^(workspace|projects|src|code|repos|dev|git|work)-", "", name)
    return safe_project_name(name) if name else None


def pick_project(
    cwd: str | None, project_hint: str | None, folder: Path | None, default: str
) -> str:
    """Session.project: the cwd's last component, else the hint, else the folder heuristic
    (Claude Code's encoded folders only: pass folder=None where folders mean nothing)."""
    return (
        project_from_cwd(cwd)
        or (safe_project_name(project_hint) if project_hint else None)
        or (project_from_folder(folder.name) if folder else None)
        or default
    )


def has_conversation(turns: Iterable[Turn]) -> bool:
    """A human prompt or an assistant reply: injected context alone is not a session."""
    return any(t.role == "assistant" or t.is_prompt for t in turns)
