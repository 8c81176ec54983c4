"""`engram projects`, `engram recall`, `engram export` on memory ingested from the samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engram_ci.cli.app import main


@pytest.fixture(scope="module")
def demo_memory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    memory = tmp_path_factory.mktemp("demo") / "memory"
    assert main(["ingest", "--samples", "--memory-dir", str(memory), "--json"]) == 0
    return memory


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_projects_one_per_line_name_first(
    capsys: pytest.CaptureFixture[str], demo_memory: Path
) -> None:
    code, out, _ = _run(capsys, "projects", "--memory-dir", str(demo_memory))
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["invoice-cli", "weather-api"]
    weather = lines[1].split()
    assert weather[1:3] == ["2", "sessions"] and weather[4] == "blocks"
    assert int(weather[3]) > 2
    assert weather[5] == "last" and weather[6].startswith("2025-11-05T")


def test_projects_json(capsys: pytest.CaptureFixture[str], demo_memory: Path) -> None:
    code, out, _ = _run(capsys, "projects", "--json", "--memory-dir", str(demo_memory))
    rows = json.loads(out)
    assert code == 0
    assert [r["project"] for r in rows] == ["invoice-cli", "weather-api"]
    assert rows[0]["sessions"] == 1 and rows[0]["knowledge_blocks"] > 0


def test_projects_on_an_empty_memory_says_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "projects", "--memory-dir", str(tmp_path))
    assert (code, out) == (0, "")
    assert "engram ingest" in err


def test_recall_prints_context_md(capsys: pytest.CaptureFixture[str], demo_memory: Path) -> None:
    code, out, _ = _run(capsys, "recall", "weather-api", "--memory-dir", str(demo_memory))
    assert code == 0
    assert out == (demo_memory / "knowledge" / "weather-api" / "context.md").read_text()
    assert "Redis" in out


def test_recall_synthesises_when_context_md_is_missing(
    capsys: pytest.CaptureFixture[str], demo_memory: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(demo_memory, tmp_path / "copy"))
    context = copy / "knowledge" / "weather-api" / "context.md"
    expected = context.read_text()
    context.unlink()
    code, out, _ = _run(capsys, "recall", "weather-api", "--memory-dir", str(copy))
    assert (code, out) == (0, expected)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["recall", "nope"], "engram projects"),
        (["export", "nope", "json"], "engram projects"),
        (["export", "weather-api", "pdf"], "invalid choice"),
        (["recall", "../knowledge"], "invalid project name"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], demo_memory: Path, argv: list[str], fragment: str
) -> None:
    code, out, err = _run(capsys, *argv, "--memory-dir", str(demo_memory))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and fragment in err


def test_export_json_to_stdout(capsys: pytest.CaptureFixture[str], demo_memory: Path) -> None:
    code, out, err = _run(capsys, "export", "weather-api", "json", "--memory-dir", str(demo_memory))
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["project"] == "weather-api"
    decisions = data["knowledge"]["decisions"]
    assert decisions[0]["session"] == "3b8e9c52-6f0a-4d7e-9a41-2c5d8e1f7a03"
    assert set(decisions[0]) == {"session", "timestamp", "tags", "body"}
    assert "confidence" in decisions[0]["tags"]
    assert [s["session_id"] for s in data["sessions"]] == [
        "3b8e9c52-6f0a-4d7e-9a41-2c5d8e1f7a03",
        "9d41f7e0-2b63-4c85-a1d9-6e0b3f58c2a7",
    ]


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_export_to_a_file(
    capsys: pytest.CaptureFixture[str], demo_memory: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    code, out, _ = _run(
        capsys, "export", "invoice-cli", fmt, "-o", str(target), "--memory-dir", str(demo_memory)
    )
    assert (code, out) == (0, "")
    text = target.read_text()
    assert "invoice-cli" in text
    assert list(tmp_path.glob(".*.tmp")) == []  # written atomically, no temp left behind


def test_export_pipes_as_pure_data_from_a_real_process(demo_memory: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engram_ci",
            "export",
            "weather-api",
            "json",
            "--memory-dir",
            str(demo_memory),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["project"] == "weather-api"  # e.g. `| gpg --encrypt`


def test_recall_into_writes_a_marked_section_replaced_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_dir = tmp_path / "mem"
    assert main(["ingest", "--samples", "--memory-dir", str(memory_dir)]) == 0
    target = tmp_path / "CLAUDE.md"
    target.write_text("# House rules\n\nUse tabs.\n")
    argv = ["recall", "weather-api", "--into", str(target), "--memory-dir", str(memory_dir)]
    assert main(argv) == 0
    first = target.read_text()
    assert first.startswith("# House rules\n\nUse tabs.\n")
    assert "<!-- engram-ci:begin project=weather-api -->" in first
    assert "# Project context: weather-api" in first
    assert main(argv) == 0  # a second run replaces the section, never appends another
    assert target.read_text() == first
    assert "unchanged" in capsys.readouterr().err
    assert main(["recall", "nope", "--into", str(target), "--memory-dir", str(memory_dir)]) == 1
