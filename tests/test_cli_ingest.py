"""`engram ingest` through the CLI: in-process via cli.main, and once as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from engram_ci.cli.app import main
from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.knowledge import blocks as knowledge
from tests.conftest import ROOT

CODEX_SAMPLES = ROOT / "tests" / "codex_samples"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_samples_with_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    memory = tmp_path / "demo-memory"
    code, out, err = _run(capsys, "ingest", "--samples", "--memory-dir", str(memory))
    assert code == 0, err
    assert out.splitlines()[0].startswith("Ingested 3 session(s), 0 unchanged")
    assert "Projects: invoice-cli, weather-api" in out
    assert "Skipped lines: bad_json 1" in out
    assert "Not sessions (empty or summary-only): 1" in out
    assert (memory / "knowledge" / "weather-api" / "context.md").is_file()

    code, out, _ = _run(capsys, "ingest", "--samples", "--memory-dir", str(memory))
    assert out.startswith("Ingested 0 session(s), 3 unchanged")


def test_json_report_is_pure_json_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(
        capsys, "ingest", "--samples", "--memory-dir", str(tmp_path / "m"), "--json", "--dry-run"
    )
    assert code == 0
    report = json.loads(out)
    assert report["dry_run"] is True and report["sessions_ingested"] == 3
    assert not (tmp_path / "m").exists()


def test_a_folder_without_transcripts_says_how_one_is_laid_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    claude_home = tmp_path / ".claude"  # passed for ~/.claude/projects
    shutil.copytree(samples_dir(), claude_home / "projects")
    memory = str(tmp_path / "m")
    assert main(["--memory-dir", memory, "ingest", "--sessions-dir", str(claude_home)]) == 0
    out, err = capsys.readouterr()
    assert "from 0 transcript group(s)" in out
    assert f"found no transcripts in {claude_home}: " in err and "<session>.jsonl" in err
    assert main(["--memory-dir", memory, "ingest", "--samples", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["transcripts_found"] > 0 and "found no transcripts" not in err


def test_environment_overrides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(samples_dir(), tmp_path / "sessions")
    monkeypatch.setenv("ENGRAM_SESSIONS_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("ENGRAM_MEMORY_DIR", str(tmp_path / "env-memory"))
    code, out, _ = _run(capsys, "ingest", "--project", "invoice-cli", "--json")
    assert code == 0
    assert json.loads(out)["projects"] == ["invoice-cli"]
    assert (tmp_path / "env-memory" / "knowledge" / "invoice-cli").is_dir()


def _claude_and_codex_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codex: str) -> Path:
    """Claude Code's samples in $CLAUDE_CONFIG_DIR, Codex's in $CODEX_HOME/<codex>; the
    memory dir to use."""
    shutil.copytree(samples_dir(), tmp_path / "claude-config" / "projects")
    shutil.copytree(CODEX_SAMPLES, tmp_path / "codex" / codex)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-config"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    return tmp_path / "memory"


def test_claude_config_dir_and_codex_sessions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = _claude_and_codex_homes(tmp_path, monkeypatch, "sessions")

    code, out, err = _run(capsys, "ingest", "--no-codex", "--json", "--memory-dir", str(memory))
    assert code == 0, err
    assert json.loads(out)["sessions_ingested"] == 3

    code, out, err = _run(capsys, "ingest", "--json", "--memory-dir", str(memory))
    assert code == 0, err
    report = json.loads(out)
    assert report["sessions_unchanged"] == 3
    assert report["sessions_ingested"] >= 1  # the Codex rollouts, through the same pipeline
    codex_metas = [
        json.loads(p.read_text())
        for p in (memory / "conversations").rglob("meta.json")
        if json.loads(p.read_text())["source"] == "codex"
    ]
    assert len(codex_metas) == report["sessions_ingested"]


def test_agent_selects_whose_sessions_are_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = _claude_and_codex_homes(tmp_path, monkeypatch, "archived_sessions")
    code, out, err = _run(
        capsys, "ingest", "--agent", "codex", "--json", "--memory-dir", str(memory)
    )
    assert code == 0, err
    codex_only = json.loads(out)["sessions_ingested"]
    assert codex_only >= 1  # archived Codex threads are found by default
    sources = {json.loads(p.read_text())["source"] for p in memory.rglob("meta.json")}
    assert sources == {"codex"}
    code, out, err = _run(capsys, "ingest", "--json", "--memory-dir", str(memory))
    assert code == 0, err
    report = json.loads(out)
    assert (report["sessions_unchanged"], report["sessions_ingested"]) == (codex_only, 3)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["ingest", "--sessions-dir", "/nonexistent/sessions"], "does not exist"),
        (["ingest"], "ENGRAM_SESSIONS_DIR"),  # HOME is empty: no ~/.claude/projects
        (["ingest", "--samples", "--sessions-dir", "x"], "not allowed with"),
        (["ingest", "--samples", "--provider", "gpt"], "invalid choice"),
        (["ingest", "--samples", "--agent", "vim"], "invalid choice"),
        (["ingest", "--codex-dir", "/nonexistent/codex"], "--codex-dir"),
        (["ingest", "--samples", "--project", "../up"], "invalid project name"),
        (["ingest", "--samples", "--project", "weather"], "did you mean weather-api"),
        (["ingest", "--samples", "--since", "soon"], "like 30s, 5m, 2h or 1d"),
        (["ingest", "--samples", "--project-name", "dir"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], fragment: str
) -> None:
    code, out, err = _run(capsys, *argv, "--memory-dir", str(tmp_path / "m"))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("engram: error: ")
    assert fragment in err


MODEL_ANSWER = {
    **{category: [] for category in knowledge.KNOWLEDGE_CATEGORIES},
    "decisions": ["Cache forecasts in-process (model said so)"],
    "confidence": "high",
    "summary": "The model's summary.",
}


class _FakeOllama(BaseHTTPRequestHandler):
    """Ollama's /api/chat on loopback: answers every session with the same knowledge."""

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        request = json.loads(self.rfile.read(length))
        assert request["model"] == "tiny-test"
        assert request["format"]["required"][-1] == "confidence"  # the fixed schema
        body = json.dumps({"message": {"role": "assistant", "content": json.dumps(MODEL_ANSWER)}})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def ollama() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_llm_provider_options_reach_the_extractor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ollama: str
) -> None:
    memory = tmp_path / "memory"
    code, _, err = _run(
        capsys,
        "ingest",
        "--samples",
        "--memory-dir",
        str(memory),
        "--project",
        "invoice-cli",
        "--provider",
        "ollama",
        "--provider-url",
        ollama,
        "--model",
        "tiny-test",
    )
    assert code == 0, err
    text = (memory / "knowledge" / "invoice-cli" / "decisions.md").read_text()
    [block] = knowledge.parse(text).blocks
    assert block.tag("confidence") == "high"
    assert block.body == "- Cache forecasts in-process (model said so)"


def test_installed_module_runs_as_a_process(tmp_path: Path) -> None:
    memory = tmp_path / "demo-memory"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engram_ci",
            "ingest",
            "--samples",
            "--memory-dir",
            str(memory),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["projects"] == ["invoice-cli", "weather-api"]
    assert "\r" not in done.stderr  # not a terminal: no progress bar
    missing = subprocess.run(
        [sys.executable, "-m", "engram_ci", "ingest", "--sessions-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr


def test_a_terminal_gets_a_progress_bar_on_stderr(corpus_home: Path, tmp_path: Path) -> None:
    import os
    import pty

    master, slave = pty.openpty()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engram_ci",
            "ingest",
            "--sessions-dir",
            str(corpus_home),
            "--memory-dir",
            str(tmp_path / "m"),
            "--json",
            # one process: the bar is what this test is about (the pool has its own tests)
            "--jobs",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        check=False,
        timeout=120,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    terminal = b"".join(chunks).decode()
    assert done.returncode == 0
    assert json.loads(done.stdout)["sessions_ingested"] > 30  # stdout stays pure JSON
    assert "\ringest [" in terminal and "MB/s" in terminal
    assert terminal.endswith("\r\x1b[K")  # the bar is cleared at the end


def test_budget_sizes_the_context_on_ingest_and_recall(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    memory = tmp_path / "memory"
    code, _, err = _run(
        capsys, "ingest", "--samples", "--memory-dir", str(memory), "--budget", "1500"
    )
    assert code == 0, err
    context = (memory / "knowledge" / "weather-api" / "context.md").read_text()
    assert len(context) <= 1500
    code, out, err = _run(capsys, "recall", "weather-api", "--memory-dir", str(memory))
    assert code == 0 and out == context
    code, out, err = _run(
        capsys, "recall", "weather-api", "--memory-dir", str(memory), "--budget", "1000"
    )
    assert code == 0 and len(out) <= 1000 and out.startswith("# Project context: weather-api")
    code, _, err = _run(
        capsys, "ingest", "--samples", "--memory-dir", str(memory), "--budget", "50"
    )
    assert code == 1
    assert "invalid budget '50': --budget wants a number of characters >= 1,000" in err
