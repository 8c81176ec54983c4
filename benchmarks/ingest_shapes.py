"""Synthetic transcript histories for benchmarks/ingest.py, in the shapes real ones come in.

- `history`: a ~/.claude/projects of hundreds of sessions over several projects, sizes drawn
  from a long-tailed (log-normal) distribution like the real corpus's (most sessions a few KB
  to a few hundred KB, a few of several MB), with 2.1.x subagents
  (`<session>/subagents/agent-*.jsonl` + `.meta.json`) and 2.0.x flat `agent-*.jsonl` files;
- `huge`: a few very large transcripts;
- `mixed`: a smaller Claude history plus Codex CLI rollouts (`YYYY/MM/DD/rollout-*.jsonl`).

Lines have the real line types and sizes: prompts, one-block-per-line assistant replies with
thinking and tool calls, tool results repeated in toolUseResult, progress and
file-history-snapshot lines. Everything is seeded: the same arguments give the same bytes.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any

__all__ = ["MB", "Text", "make_history", "make_huge", "make_mixed", "write_session"]

MB = 1024 * 1024
_VOCABULARY = (
    "the cache config request handler returns None when retry timeout session token parse "
    "file path test fails because value error import module function class self async await "
    "def return if else for in with open read write json line assert expected actual diff"
)


class Text:
    """Cheap realistic-looking text: windows into one big pre-generated pool."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        lines = []
        words = _VOCABULARY.split()
        for n in range(20_000):
            indent = " " * (4 * rng.randrange(4))
            sentence = " ".join(rng.choice(words) for _ in range(rng.randrange(3, 14)))
            lines.append(f"{n % 400 + 1:>6}\u2192{indent}{sentence}")
        self.pool = "\n".join(lines)

    def __call__(self, size: int) -> str:
        start = self.rng.randrange(0, max(1, len(self.pool) - size))
        chunk = self.pool[start : start + size]
        while len(chunk) < size:  # bigger than the pool: repeat it
            chunk += self.pool[: size - len(chunk)]
        return chunk


class SessionWriter:
    """Writes one transcript in Claude Code's shape, line by line."""

    def __init__(
        self, path: Path, session_id: str, cwd: str, rng: random.Random, text: Text, target: int
    ) -> None:
        self.fh = path.open("w", encoding="utf-8")
        self.sid, self.cwd, self.rng, self.text = session_id, cwd, rng, text
        #: a small session has small texts: no 300 KB result in a 5 KB transcript
        self.cap = max(200, target // 5)
        self.n = 0
        self.parent: str | None = None
        self.clock = 1_700_000_000.0

    def _base(self, kind: str, sidechain: bool = False) -> dict[str, Any]:
        self.n += 1
        self.clock += self.rng.uniform(0.5, 20)
        uuid = f"{self.sid[:8]}-{self.n:08d}-0000-0000-000000000000"
        obj = {
            "parentUuid": self.parent,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": "2.1.42",
            "gitBranch": "main",
            "type": kind,
            "uuid": uuid,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock)),
        }
        self.parent = uuid
        return obj

    def write(self, obj: dict[str, Any]) -> None:
        self.fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
        self.fh.write("\n")

    def prompt(self, sidechain: bool = False) -> None:
        obj = self._base("user", sidechain)
        obj["message"] = {
            "role": "user",
            "content": self.text(min(self.cap, self.rng.randrange(40, 1500))),
        }
        self.write(obj)

    def reply(self, calls: int, sidechain: bool = False) -> None:
        mid = f"msg_{self.sid[:6]}{self.n:010d}"
        usage = {"input_tokens": 9, "cache_read_input_tokens": 30_000, "output_tokens": 1}
        blocks: list[dict[str, Any]] = [
            {"type": "text", "text": self.text(min(self.cap, self.rng.randrange(100, 1200)))}
        ]
        if self.rng.random() < 0.3:
            thinking = self.text(min(self.cap, self.rng.randrange(200, 1500)))
            blocks.insert(0, {"type": "thinking", "thinking": thinking, "signature": "x" * 300})
        ids = []
        for _ in range(calls):
            tool_id = f"toolu_{self.sid[:6]}{self.n:012d}"
            ids.append(tool_id)
            tool = self.rng.choice(["Read", "Bash", "Edit", "Grep"])
            args = {"file_path": f"{self.cwd}/src/mod{self.n % 50}.py", "command": "pytest -q"}
            if tool == "Edit":
                args |= {"old_string": self.text(800), "new_string": self.text(900)}
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool, "input": args})
            self.n += 1
        for block in blocks:  # one content block per line, sharing message.id
            obj = self._base("assistant", sidechain)
            usage["output_tokens"] += 40
            obj["requestId"] = f"req_{mid}"
            obj["message"] = {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-7",
                "content": [block],
                "usage": dict(usage),
            }
            self.write(obj)
        for tool_id in ids:
            out = self.text(min(self._result_size(), self.cap))
            obj = self._base("user", sidechain)
            is_error = self.rng.random() < 0.08
            obj["message"] = {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "content": out,
                        "is_error": is_error,
                    }
                ],
            }
            obj["toolUseResult"] = {"stdout": out, "stderr": "", "interrupted": False}
            self.write(obj)
            if self.rng.random() < 0.5 and self.cap > 2000:
                self.progress()

    def _result_size(self) -> int:
        roll = self.rng.random()  # shaped like the real corpus: mostly small, a few huge
        if roll < 0.65:
            return self.rng.randrange(100, 2500)
        if roll < 0.97:
            return self.rng.randrange(2500, 15_000)
        return self.rng.randrange(50_000, 300_000)

    def progress(self) -> None:
        obj = self._base("progress")
        obj["data"] = {
            "type": "agent_progress",
            "message": {
                "type": "assistant",
                "message": {"content": [{"type": "text", "text": self.text(2000)}]},
            },
        }
        obj["toolUseID"] = obj["parentToolUseID"] = "toolu_x"
        self.write(obj)

    def snapshot(self) -> None:
        files = {f"src/mod{i}.py": {"backupFileName": f"{i}@v2", "version": 2} for i in range(40)}
        self.write(
            {
                "type": "file-history-snapshot",
                "messageId": "m",
                "snapshot": {"trackedFileBackups": files},
                "isSnapshotUpdate": True,
            }
        )

    def misc(self) -> None:
        self.write(
            {
                "type": "queue-operation",
                "operation": "enqueue",
                "timestamp": "2026-01-01T00:00:00Z",
                "sessionId": self.sid,
            }
        )
        obj = self._base("system")
        obj |= {"subtype": "turn_duration", "durationMs": 1234, "isMeta": False}
        self.write(obj)
        self.write({"type": "last-prompt", "lastPrompt": "go", "sessionId": self.sid})

    def close(self) -> int:
        self.fh.close()
        return self.n


def write_session(
    path: Path,
    sid: str,
    cwd: str,
    target: int,
    rng: random.Random,
    text: Text,
    *,
    sidechain: bool = False,
) -> None:
    """One Claude Code transcript of about `target` bytes (at least one exchange)."""
    writer = SessionWriter(path, sid, cwd, rng, text, target)
    writer.write({"type": "summary", "summary": "Benchmark session", "leafUuid": "x"})
    # a small session is a short exchange: fewer replies and calls
    replies, calls = 2 + min(4, target // 20_000), 1 + min(3, target // 10_000)
    while writer.fh.tell() < target:
        writer.prompt(sidechain)
        for _ in range(rng.randrange(1, replies)):
            writer.reply(rng.randrange(0, calls), sidechain)
        if rng.random() < 0.3:
            writer.snapshot()
        if rng.random() < 0.3:
            writer.misc()
    writer.close()


def _long_tailed(rng: random.Random, median: int, sigma: float, cap: int) -> int:
    """A log-normal size: most near the median, a long tail up to `cap`."""
    return int(min(cap, max(800, median * math.exp(rng.gauss(0, sigma)))))


def make_history(root: Path, sessions: int, seed: int = 7, *, scale: float = 1.0) -> None:
    """`sessions` sessions over 8 projects, like a real ~/.claude/projects: transcript sizes
    log-normal (450 sessions: ~900 files, ~60 MB, median file ~20 KB, a tenth over 150 KB,
    the largest a few MB; x `scale`); a third of the sessions with 2.1.x subagents (1-5
    each, with .meta.json), a tenth with a flat 2.0.x agent file."""
    rng = random.Random(seed)
    text = Text(rng)
    for n in range(sessions):
        project = f"proj{rng.randrange(8)}"
        folder = root / f"-home-dev-code-{project}"
        folder.mkdir(parents=True, exist_ok=True)
        sid = f"{n:08d}-1111-4222-8333-{seed:04d}{n:08d}"
        cwd = f"/home/dev/code/{project}"
        size = int(_long_tailed(rng, 14_000, 1.9, 8 * MB) * scale)
        write_session(folder / f"{sid}.jsonl", sid, cwd, size, rng, text)
        if rng.random() < 0.33:
            sub = folder / sid / "subagents"
            sub.mkdir(parents=True)
            for a in range(rng.randrange(1, 6)):
                name = f"agent-a{n:08x}{a:08x}"
                agent_size = int(_long_tailed(rng, 16_000, 1.2, 2 * MB) * scale)
                write_session(
                    sub / f"{name}.jsonl", sid, cwd, agent_size, rng, text, sidechain=True
                )
                meta = {"agentType": rng.choice(["Explore", "general-purpose"]), "description": "b"}
                (sub / f"{name}.meta.json").write_text(json.dumps(meta))
        if rng.random() < 0.1:
            agent = folder / f"agent-{seed:04x}{n:04x}.jsonl"
            agent_size = int(_long_tailed(rng, 16_000, 1.2, 2 * MB) * scale)
            write_session(agent, sid, cwd, agent_size, rng, text, sidechain=True)


def make_huge(root: Path, count: int, size: int, seed: int = 11) -> None:
    """`count` transcripts of `size` bytes each, one project."""
    rng = random.Random(seed)
    text = Text(rng)
    folder = root / "-home-dev-code-big"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        sid = f"b1g{n:05d}-0000-4000-8000-{n:012d}"
        write_session(folder / f"{sid}.jsonl", sid, "/home/dev/code/big", size, rng, text)


def make_mixed(claude_root: Path, codex_root: Path, sessions: int, seed: int = 13) -> None:
    """A Claude history of `sessions` sessions plus as many Codex rollouts."""
    make_history(claude_root, sessions, seed)
    rng = random.Random(seed + 1)
    text = Text(rng)
    for n in range(sessions):
        day = 1 + n % 28
        folder = codex_root / "2025" / "11" / f"{day:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        sid = f"0199a3f2-7c1e-7d20-b5a4-{seed:04d}{n:08d}"
        path = folder / f"rollout-2025-11-{day:02d}T10-00-00-{sid}.jsonl"
        _write_rollout(
            path,
            sid,
            f"/home/dev/code/cx{n % 4}",
            _long_tailed(rng, 30_000, 1.6, 4 * MB),
            rng,
            text,
        )


def _write_rollout(
    path: Path, sid: str, cwd: str, target: int, rng: random.Random, text: Text
) -> None:
    """A Codex CLI rollout: session_meta, turn contexts, messages, calls and outputs."""
    clock = 1_762_000_000.0
    with path.open("w", encoding="utf-8") as fh:

        def line(kind: str, payload: dict[str, Any]) -> None:
            nonlocal clock
            clock += rng.uniform(0.2, 10)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock))
            obj = {"timestamp": stamp, "type": kind, "payload": payload}
            fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")

        meta = {"id": sid, "cwd": cwd, "cli_version": "0.53.0", "git": {"branch": "main"}}
        line("session_meta", meta)
        env = f"<environment_context>\n  <cwd>{cwd}</cwd>\n</environment_context>"
        line("response_item", _message("user", "input_text", env))
        calls = 0
        while fh.tell() < target:
            line("turn_context", {"cwd": cwd, "model": "gpt-5.1-codex", "effort": "high"})
            line("response_item", _message("user", "input_text", text(rng.randrange(40, 1200))))
            line("event_msg", {"type": "user_message", "message": "(repeated)"})
            for _ in range(rng.randrange(1, 5)):
                line(
                    "response_item",
                    {
                        "type": "reasoning",
                        "summary": [],
                        "content": None,
                        "encrypted_content": "gAAAA" + "x" * 400,
                    },
                )
                calls += 1
                args = json.dumps({"command": ["bash", "-lc", "pytest -q"], "workdir": cwd})
                call_id = f"call_{calls:08d}"
                line(
                    "response_item",
                    {
                        "type": "function_call",
                        "name": "shell",
                        "arguments": args,
                        "call_id": call_id,
                    },
                )
                code = 1 if rng.random() < 0.1 else 0
                output = f"Exit code: {code}\nOutput:\n" + text(
                    min(rng.randrange(100, 12_000), max(300, target // 3))
                )
                line(
                    "response_item",
                    {"type": "function_call_output", "call_id": call_id, "output": output},
                )
            reply = text(rng.randrange(100, 1500))
            line("response_item", _message("assistant", "output_text", reply))
            usage = {
                "input_tokens": 4000 * calls,
                "cached_input_tokens": 3000 * calls,
                "output_tokens": 200 * calls,
                "total_tokens": 4200 * calls,
            }
            line("event_msg", {"type": "token_count", "info": {"total_token_usage": usage}})


def _message(role: str, kind: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}
