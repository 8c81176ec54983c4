"""`<private>` text never leaves the reader: not archived, extracted, summarised or synced."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from engram_ci.ingest import IngestOptions, run_ingest
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import gistsync
from engram_ci.transcripts import claude, codex
from engram_ci.transcripts.model import Session
from engram_ci.transcripts.private import PRIVATE_MARK, strip_private
from engram_ci.transcripts.registry import get_reader
from tests import agent_stores
from tests.github_server import GitHubStandIn

SECRETS = [f"PRIVATE_WORD_{n}" for n in range(1, 10)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no tags here", "no tags here"),
        ("a <b> c", "a <b> c"),
        ("keep <private>drop</private> keep", f"keep {PRIVATE_MARK} keep"),
        (
            "x <PRIVATE>a</Private> y <private >b</ private> z",
            f"x {PRIVATE_MARK} y {PRIVATE_MARK} z",
        ),
        ("a <private>b <private>c</private> d</private> e", f"a {PRIVATE_MARK} e"),
        ("kept <private>never closed\nline two", f"kept {PRIVATE_MARK}"),
        ("opened earlier</private> after", f"{PRIVATE_MARK} after"),
        ("<private>x</private></private>tail", f"{PRIVATE_MARK}tail"),
    ],
)
def test_strip_private(text: str, expected: str) -> None:
    assert strip_private(text) == expected


def _claude_line(kind: str, content: Any, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "uuid": f"u{n}",
        "sessionId": "priv-1",
        "cwd": "/home/dev/app",
        "timestamp": f"2025-03-01T10:00:{n:02d}Z",
        "message": {"role": kind, "content": content, **extra},
    }


def claude_transcript(root: Path) -> Path:
    """A session with a private word in every place text enters: prompts (closed and
    unclosed), a reply, thinking, a tool's input and its failing output, the title."""
    s = SECRETS
    lines = [
        _claude_line(
            "user", f"Fix the login flow. <private>{s[0]}</private> Use pnpm, not npm.", 1
        ),
        _claude_line(
            "assistant",
            [
                {"type": "thinking", "thinking": f"hmm <private>{s[1]}</private> ok"},
                {"type": "text", "text": f"I chose Redis as <Private>{s[2]}</Private> it is fast."},
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "Bash",
                    "input": {"command": f"pytest -k '<private>{s[3]}</private>' tests"},
                },
            ],
            2,
            id="m1",
            model="claude-x",
        ),
        _claude_line(
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "is_error": True,
                    "content": f"FAILED: <private>{s[4]}</private> AssertionError in test_login",
                }
            ],
            3,
        ),
        _claude_line("user", f"Now deploy it. <PRIVATE>{s[5]} and the rest of the line", 4),
        _claude_line("assistant", [{"type": "text", "text": "Deployed with pnpm."}], 5, id="m2"),
        {"type": "ai-title", "aiTitle": f"Login <private>{s[6]}</private>", "sessionId": "priv-1"},
    ]
    folder = root / "-home-dev-app"
    folder.mkdir(parents=True)
    path = folder / "priv-1.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def codex_rollout(root: Path) -> Path:
    s = SECRETS

    def item(payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": "2025-03-02T10:00:00Z", "type": "response_item", "payload": payload}

    lines = [
        {"type": "session_meta", "payload": {"id": "codex-priv", "cwd": "/x/app"}},
        item(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": f"run <private>{s[0]}</private> it"}],
            }
        ),
        item(
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": f"<private>{s[1]}"}]}
        ),
        item(
            {
                "type": "function_call",
                "name": "shell",
                "call_id": "c1",
                "arguments": json.dumps({"command": ["echo", f"<private>{s[3]}</private>"]}),
            }
        ),
        item({"type": "function_call_output", "call_id": "c1", "output": f"<private>{s[4]}"}),
        item(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"done <private>{s[2]}</private>"}],
            }
        ),
    ]
    path = root / "2025" / "03" / "02" / "rollout-2025-03-02T10-00-00-x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _all_text(session: Session) -> str:
    parts: list[str] = [session.title or "", *session.summaries]
    for turn in session.turns:
        parts += [turn.text, turn.thinking]
        for call in turn.tool_calls:
            parts += [json.dumps(call.input), call.result or ""]
    return "\n".join(parts)


def _assert_clean(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"private text leaked: {leaked}"


@pytest.mark.parametrize(
    ("make", "reader"),
    [(claude_transcript, claude), (codex_rollout, codex)],
    ids=["claude", "codex"],
)
def test_readers_keep_no_private_text(
    tmp_path: Path, make: Callable[[Path], Path], reader: Any
) -> None:
    make(tmp_path)
    (group,) = reader.discover([tmp_path])
    session = reader.read_session(group)
    assert session is not None
    text = _all_text(session)
    _assert_clean(text)
    assert PRIVATE_MARK in text
    assert "the rest of the line" not in text  # an unclosed tag hides the rest of its text


def test_private_text_reaches_no_memory_file_and_no_gist(
    tmp_path: Path,
    memory: MemoryLayout,
    github_as: Callable[..., GitHubStandIn],
) -> None:
    claude_transcript(tmp_path / "claude")
    codex_rollout(tmp_path / "codex")
    report = run_ingest(
        IngestOptions(
            memory_dir=memory.root,
            claude_roots=(tmp_path / "claude",),
            codex_roots=(tmp_path / "codex",),
            jobs=1,
        )
    )
    assert report.sessions_ingested == 2 and report.blocks_written > 0
    written = {p: p.read_text(errors="replace") for p in memory.root.rglob("*") if p.is_file()}
    names = {p.name for p in written}
    assert {"conversation.md", "context.md", "meta.json"} <= names
    assert any(p.parent.name == "app" and p.parent.parent.name == "summaries" for p in written)
    for path, text in written.items():
        assert not any(secret in text for secret in SECRETS), path
    assert "pnpm" in (memory.conversation_dir("app", "priv-1") / "conversation.md").read_text()

    gh = github_as("ghp_PrivateTestToken000000000000000000001", retry_seconds=1)
    gistsync.push(memory.root, "app")
    (gist,) = gh.gists.values()
    _assert_clean(json.dumps([revision.files for revision in gist.revisions]))


def test_private_text_is_not_sent_to_a_model(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram_ci.knowledge.extract import extract_knowledge

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-private-0000000000")
    httpx_mock.add_response(status_code=401)  # the request is what matters, not the answer
    claude_transcript(tmp_path)
    (group,) = claude.discover([tmp_path])
    session = claude.read_session(group)
    assert session is not None
    extract_knowledge(session, provider="openai")
    sent = [r.content.decode() for r in httpx_mock.get_requests()]
    assert sent and "Fix the login flow" in sent[0]
    _assert_clean("\n".join(sent))


@pytest.mark.parametrize("event_first", [True, False])
def test_a_codex_prompt_with_private_text_is_one_prompt(tmp_path: Path, event_first: bool) -> None:
    """Codex writes the human's prompt twice (event_msg user_message and a message item):
    both forms are scrubbed alike, so they still pair up."""
    said = f"deploy <private>{SECRETS[0]}</private> now"
    event = {
        "timestamp": "2025-03-02T10:00:00Z",
        "type": "event_msg",
        "payload": {"type": "user_message", "message": said},
    }
    item = {
        "timestamp": "2025-03-02T10:00:00Z",
        "type": "response_item",
        "payload": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": said}],
        },
    }
    reply = {
        "timestamp": "2025-03-02T10:00:01Z",
        "type": "response_item",
        "payload": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "deployed"}],
        },
    }
    meta = {"type": "session_meta", "payload": {"id": "codex-twice", "cwd": "/x/app"}}
    lines = [meta, event, item, reply] if event_first else [meta, item, event, reply]
    path = tmp_path / "2025" / "03" / "02" / "rollout-2025-03-02T10-00-00-y.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (group,) = codex.discover([tmp_path])
    session = codex.read_session(group)
    assert session is not None
    assert session.prompts == [f"deploy {PRIVATE_MARK} now"]
    assert [t.text for t in session.turns if t.role == "user"] == session.prompts  # no copy


@pytest.mark.parametrize("agent", sorted(agent_stores.STORES))
def test_no_agent_store_lets_private_text_through(agent: str, tmp_path: Path) -> None:
    """Every chat-store reader, however it keeps text (clipped or not): private words planted
    in the prompt, the reply, a tool's output and the title reach no memory file."""
    home = tmp_path / "home"
    agent_stores.STORES[agent](home)
    planted = {
        agent_stores.PROMPT: f"{agent_stores.PROMPT} <private>{SECRETS[0]}</private>",
        agent_stores.DONE: f"{agent_stores.DONE} <PRIVATE>{SECRETS[1]}</PRIVATE>",
        agent_stores.FAILED_OUTPUT: f"{agent_stores.FAILED_OUTPUT} <private>{SECRETS[2]}",
        "Fix cart tests": f"Fix cart tests <private>{SECRETS[3]}</private>",
    }
    for path in home.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            text = path.read_text()
            for said, secretly in planted.items():
                text = text.replace(said, secretly)
            path.write_text(text)
    memory = tmp_path / "memory"
    roots = tuple(get_reader(agent).default_roots({}, home))
    report = run_ingest(IngestOptions(memory_dir=memory, roots={agent: roots}, jobs=1))
    assert report.sessions_ingested == 1
    conversation = next(memory.rglob("conversation.md")).read_text()
    assert PRIVATE_MARK in conversation and agent_stores.PROMPT in conversation
    for path in memory.rglob("*"):
        if path.is_file():
            _assert_clean(path.read_text(errors="replace"))


def test_scrub_session_reaches_every_text_and_subagents() -> None:
    from engram_ci.transcripts.model import ToolCall, Turn
    from engram_ci.transcripts.private import scrub_session

    def secret(n: int) -> str:
        return f"<private>{SECRETS[n]}</private>"

    call = ToolCall("c", "Bash", {"command": secret(0), "args": [secret(1), {"k": secret(2)}]})
    call.result = secret(3)
    sub = Session("s", "claude-code", "p", [], turns=[Turn("user", secret(4))])
    session = Session(
        "s",
        "claude-code",
        "p",
        [],
        title=secret(5),
        summaries=[secret(6)],
        turns=[Turn("assistant", secret(7), thinking=secret(8), tool_calls=[call])],
        subagents=[sub],
    )
    scrub_session(session)
    _assert_clean(_all_text(session) + _all_text(sub))


# -- pinned by mutation testing (README "Mutation testing") -----------------------------------


def test_scrub_session_reaches_the_title_tool_inputs_and_results() -> None:
    from engram_ci.transcripts.model import Session, ToolCall, Turn
    from engram_ci.transcripts.private import PRIVATE_MARK, scrub_session

    clean_input: dict[str, Any] = {"path": "a.py", "flags": ["-v"]}
    hidden = "<private>hunter2</private>"
    call = ToolCall("t1", "Bash", {"command": f"echo {hidden}", "env": [f"PW={hidden}", "X=1"]})
    call.result = f"done {hidden}"
    kept = ToolCall("t2", "Read", clean_input, result="ok")
    session = Session("s1", "claude-code", "proj", [], title=f"fix {hidden}")
    session.turns = [Turn("assistant", "text", tool_calls=[call, kept])]
    scrub_session(session)
    assert session.title == f"fix {PRIVATE_MARK}"
    assert call.input == {"command": f"echo {PRIVATE_MARK}", "env": [f"PW={PRIVATE_MARK}", "X=1"]}
    assert call.result == f"done {PRIVATE_MARK}"
    assert kept.input is clean_input and kept.result == "ok"  # untouched values stay as they are
    assert "hunter2" not in json.dumps([session.title, call.input, call.result])
