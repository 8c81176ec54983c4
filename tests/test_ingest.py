"""run_ingest (engram_ci/ingest/) on the bundled samples with the real readers and extractor.

Seams (readers, extractor, progress) are injected only where a test needs to control what a
session says; everything written goes to a real temporary memory dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.errors import FatalError
from engram_ci.ingest import IngestOptions, IngestReport, run_ingest
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.fsutil import atomic_write_text, file_lock
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts import claude
from engram_ci.transcripts.model import Session, TranscriptGroup

WEATHER_1 = "3b8e9c52-6f0a-4d7e-9a41-2c5d8e1f7a03"
WEATHER_2 = "9d41f7e0-2b63-4c85-a1d9-6e0b3f58c2a7"
INVOICE_1 = "c7a2e815-4d9b-4f36-8e0c-51b7d2a9f4e6"


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A writable copy of the bundled samples (some tests grow or touch them)."""
    return Path(shutil.copytree(samples_dir(), tmp_path / "projects"))


def _options(memory: MemoryLayout, root: Path, **kw: object) -> IngestOptions:
    return IngestOptions(memory_dir=memory.root, claude_roots=(root,), **kw)  # type: ignore[arg-type]


def _files(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "memory.lock"
    }


def _blocks(memory: MemoryLayout, project: str, category: str) -> list[knowledge.Block]:
    path = memory.knowledge_dir(project) / f"{category}.md"
    return list(knowledge.parse(path.read_text()).blocks) if path.exists() else []


def test_samples_give_engram_layout(samples: Path, memory: MemoryLayout) -> None:
    report = run_ingest(_options(memory, samples))

    assert (report.sessions_ingested, report.not_sessions, report.subagents) == (3, 1, 1)
    assert report.projects == ["invoice-cli", "weather-api"]
    assert report.malformed_lines == {"bad_json": 1}  # a transcript cut off mid-line
    for project, session in (
        ("weather-api", WEATHER_1),
        ("weather-api", WEATHER_2),
        ("invoice-cli", INVOICE_1),
    ):
        conv = memory.conversation_dir(project, session)
        assert (conv / "conversation.md").read_text().startswith("# ")
        meta = json.loads((conv / "meta.json").read_text())
        assert meta["session_id"] == session and meta["project"] == project
        assert memory.summary_file(project, session).read_text().strip()
    meta = json.loads((memory.conversation_dir("weather-api", WEATHER_1) / "meta.json").read_text())
    assert meta["subagents"][0]["agent_id"] == "a4f29c1d8e7b60352"
    assert meta["git_branch"] == "feature/forecast-cache"
    assert meta["tool_errors"] == 1

    decisions = _blocks(memory, "weather-api", "decisions")
    assert [b.session_id for b in decisions] == [WEATHER_1]
    assert decisions[0].timestamp == meta["started_at"]
    assert decisions[0].tag("confidence") in ("high", "medium", "low")
    assert "Redis" in decisions[0].body
    context = (memory.knowledge_dir("weather-api") / "context.md").read_text()
    assert context.startswith("# Project context: weather-api")
    written = list(memory.knowledge_dir("weather-api").iterdir())
    # each knowledge file written once for the whole run, though two sessions fed it
    assert report.knowledge_files_written == len(list(memory.root.glob("knowledge/*/*.md")))
    assert len(written) >= 3


def test_force_reingest_replaces_blocks_and_rewrites_nothing_identical(
    samples: Path, memory: MemoryLayout
) -> None:
    run_ingest(_options(memory, samples))
    before = _files(memory.root)
    report = run_ingest(_options(memory, samples, force=True))
    assert report.sessions_ingested == 3
    after = _files(memory.root)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == set()  # deterministic output, same bytes: not even the manifest
    for category in ("decisions", "bugs", "solutions"):
        ids = [b.session_id for b in _blocks(memory, "weather-api", category)]
        assert len(ids) == len(set(ids))


def test_blocks_written_by_others_are_kept_and_tombstones_respected(
    samples: Path, memory: MemoryLayout
) -> None:
    foreign = (
        "# Decisions\n\n## Session: engram-llm-1 (2025-01-01T00:00:00Z) [confidence:high]\n\n"
        "- Chose FastAPI over Flask.\n\n"
        f"## Session: {WEATHER_1} (2025-11-03T09:12:24.512Z) [deleted:2025-11-04T00:00:00Z]\n"
    )
    atomic_write_text(memory.knowledge_dir("weather-api") / "decisions.md", foreign)
    run_ingest(_options(memory, samples))
    blocks = {b.session_id: b for b in _blocks(memory, "weather-api", "decisions")}
    assert blocks["engram-llm-1"].body == "- Chose FastAPI over Flask."
    assert blocks[WEATHER_1].is_tombstone  # forgotten on purpose: not resurrected


@dataclass(frozen=True)
class FakeExtraction:
    entries: Mapping[str, str]
    confidence: str = "low"
    source: str = "offline"
    summary: str = "# summary"
    usage: None = None


def test_reingest_drops_a_category_the_session_no_longer_has(
    samples: Path, memory: MemoryLayout
) -> None:
    answers = iter([{"bugs": "- a bug", "decisions": "- a decision"}, {"decisions": "- changed"}])
    current: dict[str, Mapping[str, str]] = {}

    def extractor(session: Session) -> FakeExtraction:
        return FakeExtraction(current["entries"])

    opts = _options(memory, samples, project="invoice-cli")
    current["entries"] = next(answers)
    run_ingest(opts, extractor=extractor)
    assert [b.body for b in _blocks(memory, "invoice-cli", "bugs")] == ["- a bug"]
    current["entries"] = next(answers)
    run_ingest(IngestOptions(**{**opts.__dict__, "force": True}), extractor=extractor)
    assert _blocks(memory, "invoice-cli", "bugs") == []
    assert [b.body for b in _blocks(memory, "invoice-cli", "decisions")] == ["- changed"]
    assert "- changed" in (memory.knowledge_dir("invoice-cli") / "context.md").read_text()


def test_reingest_beside_upstream_engram_keeps_its_blocks(
    samples: Path, memory: MemoryLayout
) -> None:
    # engram (the Rust tool) already wrote two blocks for the session: an LLM reading and a
    # dated reflection. Our offline reading neither replaces nor joins them.
    path = memory.knowledge_dir("invoice-cli") / "decisions.md"
    path.parent.mkdir(parents=True)
    upstream = (
        "# Decisions\n\n\n"
        f"## Session: {INVOICE_1} (2025-01-01T00:00:00Z) [confidence:high] [access:4]\n\n"
        "- engram's LLM reading\n\n\n"
        f"## Session: {INVOICE_1} (2025-02-01T00:00:00Z) [updated]\n\n- a later reflection\n"
    )
    path.write_text(upstream)
    answer: dict[str, FakeExtraction] = {"now": FakeExtraction({"decisions": "- offline"})}
    opts = _options(memory, samples, project="invoice-cli")
    run_ingest(opts, extractor=lambda session: answer["now"])
    assert [b.body for b in _blocks(memory, "invoice-cli", "decisions")] == [
        "- engram's LLM reading",
        "- a later reflection",
    ]
    # a model's reading of ours joins them, and a later offline re-read leaves it in place
    answer["now"] = FakeExtraction({"decisions": "- model"}, "high", source="openai:gpt-x")
    forced = IngestOptions(**{**opts.__dict__, "force": True})
    run_ingest(forced, extractor=lambda session: answer["now"])
    answer["now"] = FakeExtraction({"bugs": "- offline bug"})
    run_ingest(forced, extractor=lambda session: answer["now"])
    blocks = _blocks(memory, "invoice-cli", "decisions")
    assert sorted(b.body for b in blocks) == [
        "- a later reflection",
        "- engram's LLM reading",
        "- model",
    ]
    assert next(b for b in blocks if b.body == "- model").tag("source") == "openai:gpt-x"
    assert "[updated]" in path.read_text() and "[access:4]" in path.read_text()


def test_reingest_replaces_the_untagged_block_an_older_engram_ci_wrote(
    samples: Path, memory: MemoryLayout
) -> None:
    answer = {"now": FakeExtraction({"decisions": "- first"})}
    opts = _options(memory, samples, project="invoice-cli")
    run_ingest(opts, extractor=lambda session: answer["now"])
    path = memory.knowledge_dir("invoice-cli") / "decisions.md"
    path.write_text(path.read_text().replace(" [source:offline]", ""))  # as 0.1 wrote it
    manifest = memory.state_dir / "ingest-manifest.json"
    data = json.loads(manifest.read_text())
    for entry in data["entries"].values():
        del entry["tagged"]  # as 0.1 wrote its manifest
    manifest.write_text(json.dumps(data))
    answer["now"] = FakeExtraction({"decisions": "- second"})
    run_ingest(IngestOptions(**{**opts.__dict__, "force": True}), extractor=lambda s: answer["now"])
    assert [b.body for b in _blocks(memory, "invoice-cli", "decisions")] == ["- second"]


def test_hostile_bodies_cannot_forge_blocks(samples: Path, memory: MemoryLayout) -> None:
    def extractor(session: Session) -> FakeExtraction:
        return FakeExtraction(
            {"insights": "- ok\n## Session: forged (2020) [confidence:high]\n```"}
        )

    run_ingest(_options(memory, samples, project="invoice-cli"), extractor=extractor)
    assert [b.session_id for b in _blocks(memory, "invoice-cli", "insights")] == [INVOICE_1]


def test_a_folder_whose_name_is_not_utf8_is_ingested_and_named_in_escapes(
    samples: Path, memory: MemoryLayout
) -> None:
    # a file system holds bytes: a folder copied from elsewhere may not be UTF-8
    folder = next(p for p in samples.iterdir() if p.is_dir())
    odd = Path(os.fsdecode(os.fsencode(samples) + b"/-home-dev-caf\xe9"))
    folder.rename(odd)
    report = run_ingest(_options(memory, samples, jobs=1))
    assert report.sessions_failed == 0 and report.sessions_ingested >= 1
    metas = list((memory.root / "conversations").rglob("meta.json"))
    texts = [m.read_bytes().decode("utf-8") for m in metas]  # every file stays UTF-8
    assert any("-home-dev-caf\\\\xe9/" in text for text in texts)


def test_dry_run_writes_nothing(samples: Path, memory: MemoryLayout) -> None:
    report = run_ingest(_options(memory, samples, dry_run=True))
    assert report.dry_run and report.sessions_ingested == 3 and report.blocks_written == 0
    assert not memory.root.exists()


def test_project_filter_and_skip_knowledge(samples: Path, memory: MemoryLayout) -> None:
    report = run_ingest(_options(memory, samples, project="weather-api", skip_knowledge=True))
    assert report.projects == ["weather-api"] and report.sessions_ingested == 2
    assert memory.projects() == ["weather-api"]
    assert not (memory.root / "knowledge").exists()
    assert not (memory.root / "summaries").exists()
    # the other project is still new to the manifest: a full run picks it up
    full = run_ingest(_options(memory, samples))
    assert full.projects == ["invoice-cli", "weather-api"]
    assert full.sessions_ingested == 3  # weather-api again: its knowledge was skipped before


def test_unchanged_is_skipped_by_stat_alone(samples: Path, memory: MemoryLayout) -> None:
    run_ingest(_options(memory, samples))

    class CountingReader:
        name = "claude-code"
        reads = 0

        def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]:
            return claude.discover(roots)

        def read_session(
            self, group: TranscriptGroup, *, project_hint: str | None = None
        ) -> Session | None:
            CountingReader.reads += 1
            return claude.read_session(group, project_hint=project_hint)

    reader = CountingReader()
    again = run_ingest(_options(memory, samples), readers=[(reader, (samples,))])
    assert (again.sessions_unchanged, again.sessions_ingested, CountingReader.reads) == (3, 0, 0)
    agent = next(samples.rglob("agent-*.jsonl"))
    with agent.open("a") as handle:
        handle.write("\n")  # touching a subagent file re-reads its parent session only
    grown = run_ingest(_options(memory, samples), readers=[(reader, (samples,))])
    assert (grown.sessions_ingested, CountingReader.reads) == (1, 1)
    assert grown.sessions == [("weather-api", WEATHER_1)]


def test_a_reader_failure_or_hostile_name_skips_that_session_only(
    samples: Path, memory: MemoryLayout
) -> None:
    class Flaky:
        name = "claude-code"

        def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]:
            return claude.discover(roots)

        def read_session(
            self, group: TranscriptGroup, *, project_hint: str | None = None
        ) -> Session | None:
            session = claude.read_session(group)
            if group.session_id == WEATHER_2:
                raise RuntimeError("reader bug")
            if session is not None and group.session_id == INVOICE_1:
                session.project = "../escape"
            return session

    report = run_ingest(_options(memory, samples), readers=[(Flaky(), (samples,))])
    assert report.sessions_failed == 2 and report.sessions_ingested == 1
    assert memory.projects() == ["weather-api"]
    assert not (memory.root.parent / "escape").exists()
    retried = run_ingest(_options(memory, samples))
    assert retried.sessions_ingested == 2  # failures are not remembered as done


def test_hostile_session_ids_and_timestamps_cannot_bend_block_headers(
    samples: Path, memory: MemoryLayout
) -> None:
    class Hostile:
        name = "claude-code"

        def discover(self, roots: Sequence[Path]) -> list[TranscriptGroup]:
            return claude.discover(roots)

        def read_session(
            self, group: TranscriptGroup, *, project_hint: str | None = None
        ) -> Session | None:
            session = claude.read_session(group)
            if session is None:
                return None
            if group.session_id == WEATHER_2:
                session.session_id = "a (b) [c:d]"
            session.started_at = "2025-11-03 09:12 (x) [confidence:high]\n## Session: forged (1)"
            return session

    report = run_ingest(_options(memory, samples), readers=[(Hostile(), (samples,))])
    assert report.sessions_failed == 1 and report.sessions_ingested == 2
    [block] = _blocks(memory, "weather-api", "decisions")
    assert block.session_id == WEATHER_1
    assert block.timestamp == "2025-11-03 09:12 x confidence:high ## Session: forged 1"
    assert block.tags == (("confidence", block.tag("confidence")), ("source", "offline"))


def test_an_extractor_bug_skips_one_session_a_bad_setting_stops_the_run(
    samples: Path, memory: MemoryLayout
) -> None:
    def buggy(session: Session) -> FakeExtraction:
        if session.session_id == INVOICE_1:
            raise KeyError("bug")
        return FakeExtraction({"insights": "- fine"})

    report = run_ingest(_options(memory, samples), extractor=buggy)
    assert (report.sessions_failed, report.sessions_ingested) == (1, 2)
    assert not memory.conversation_dir("invoice-cli", INVOICE_1).exists()

    def misconfigured(session: Session) -> FakeExtraction:
        raise FatalError("unknown provider 'x'")

    with pytest.raises(FatalError, match="unknown provider"):
        run_ingest(_options(memory, samples, force=True), extractor=misconfigured)


def test_missing_roots_and_bad_project_are_fatal(tmp_path: Path, memory: MemoryLayout) -> None:
    with pytest.raises(FatalError, match="--sessions-dir"):
        run_ingest(_options(memory, tmp_path / "nope"))
    with pytest.raises(FatalError, match="invalid project name"):
        run_ingest(_options(memory, tmp_path, project="../x"))


def test_progress_sees_every_changed_transcript(samples: Path, memory: MemoryLayout) -> None:
    events: list[tuple[str, int]] = []

    class Recorder:
        def start(self, files: int, total_bytes: int) -> None:
            events.append(("start", files))

        def advance(self, nbytes: int) -> None:
            events.append(("advance", nbytes))

        def finish(self) -> None:
            events.append(("finish", 0))

    run_ingest(_options(memory, samples), progress=Recorder())
    assert events[0] == ("start", 4) and events[-1] == ("finish", 0)
    assert len([e for e in events if e[0] == "advance"]) == 4


def test_report_json_is_stable(samples: Path, memory: MemoryLayout) -> None:
    data = run_ingest(_options(memory, samples)).to_json()
    assert list(data) == list(IngestReport().to_json())
    assert data["skipped_lines"] == {"malformed": {"bad_json": 1}, "unknown_types": {}}
    assert {"project": "invoice-cli", "session_id": INVOICE_1} in data["sessions"]
    json.dumps(data)


def test_ingests_into_one_memory_dir_are_serialised_by_the_lock(
    samples: Path, memory: MemoryLayout
) -> None:
    command = [
        sys.executable,
        "-m",
        "engram_ci",
        "ingest",
        "--sessions-dir",
        str(samples),
        "--memory-dir",
        str(memory.root),
        "--force",
        "--json",
    ]
    released = threading.Event()

    def hold() -> None:
        with file_lock(memory.lock_file):
            released.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert first.poll() is None and second.poll() is None  # both wait for the lock
    released.set()
    holder.join()
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0]
    assert all(o["sessions_ingested"] == 3 for o in outputs)
    ids = [b.session_id for b in _blocks(memory, "weather-api", "decisions")]
    assert ids == [WEATHER_1]


def _contents(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "memory.lock"
    }


@pytest.mark.parametrize("corpus", ["samples", "corpus_home"])
def test_worker_processes_write_the_same_bytes_as_one_process(
    corpus: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root: Path = request.getfixturevalue(corpus)
    outputs = {}
    for jobs in (1, 2):
        memory = MemoryLayout(tmp_path / f"memory-jobs{jobs}")
        report = run_ingest(_options(memory, root, jobs=jobs))
        outputs[jobs] = (report.to_json() | {"memory_dir": ""}, _contents(memory.root))
    assert outputs[1][0]["sessions_ingested"] > 1
    assert outputs[1][0] == outputs[2][0]
    assert sorted(outputs[1][1]) == sorted(outputs[2][1])
    for name, data in outputs[1][1].items():
        assert outputs[2][1][name] == data, name


def test_temp_files_left_by_killed_runs_are_swept_at_most_hourly(
    samples: Path, memory: MemoryLayout
) -> None:
    import os

    run_ingest(_options(memory, samples))
    stale = memory.knowledge_dir("weather-api") / ".bugs.md.k1lled00.tmp"
    stale.write_text("half a file")
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    run_ingest(_options(memory, samples))
    assert stale.exists()  # swept within the hour already: the next sweep waits
    os.utime(memory.state_dir / "swept", (hours_ago, hours_ago))
    run_ingest(_options(memory, samples))
    assert not stale.exists()


def test_project_that_matches_nothing_is_an_error_naming_close_ones(
    samples: Path, memory: MemoryLayout
) -> None:
    with pytest.raises(FatalError, match=r"'weather-apy'.*did you mean weather-api") as caught:
        run_ingest(_options(memory, samples, project="weather-apy"))
    assert "invoice-cli" in str(caught.value)
    # known from the manifest too: a second run (everything unchanged) still knows the names
    run_ingest(_options(memory, samples))
    with pytest.raises(FatalError, match="did you mean invoice-cli"):
        run_ingest(_options(memory, samples, project="invoice-clj"))
    assert run_ingest(_options(memory, samples, project="invoice-cli")).sessions_unchanged == 1


def test_since_reads_only_recently_modified_transcripts(
    samples: Path, memory: MemoryLayout
) -> None:
    old = time.time() - 3600
    for path in samples.rglob("*"):  # every part: a subagent's meta.json counts too
        os.utime(path, (old, old))
    recent = next(samples.glob("-home-dev-src-invoice-cli/*.jsonl"))
    recent.touch()
    report = run_ingest(_options(memory, samples, since_seconds=300))
    assert report.sessions_ingested == 1 and report.projects == ["invoice-cli"]
    # a --since run that finds nothing of --project has nothing new: not an error
    quiet = run_ingest(_options(memory, samples, since_seconds=300, project="weather-api"))
    assert quiet.sessions_ingested == 0


def test_project_name_engram_uses_upstreams_folder_decoding(
    samples: Path, memory: MemoryLayout
) -> None:
    report = run_ingest(_options(memory, samples, project_name="engram"))
    assert report.projects == ["home-dev-src-invoice-cli", "home-dev-src-weather-api"]
    assert (memory.knowledge_dir("home-dev-src-weather-api") / "context.md").exists()


def test_knowledge_is_redacted_before_clipping_leaks_or_synthesis_splits_a_key(
    samples: Path, memory: MemoryLayout
) -> None:
    """Issue 15: what the extractor clipped mid-password and a whole private key block are
    gone from the knowledge files and from context.md (synthesised from them) alike."""
    from engram_ci.knowledge.signals import code

    password = "Zq8#vLx2!mW9" + "pT4&kR7" * 6
    command = "mysql -h db.internal -u admin -p" + password + " shop < migrate.sql"
    clipped = code(command, 48)  # the extractor's own clipping: cut inside the password
    assert "…" in clipped and password[:6] in clipped
    body = [("MIIEow" + "AbCdEfGh12345678" * 4)[:64] for _ in range(6)]
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----"

    def leaky(session: Session) -> FakeExtraction:
        return FakeExtraction(
            {"procedures": f"- migrate with {clipped}", "insights": f"- deploy key:\n{pem}"},
            summary=f"# summary\nran {clipped}",
        )

    run_ingest(_options(memory, samples), extractor=leaky)
    written = "".join(
        p.read_text(encoding="utf-8") for p in memory.root.rglob("*.md") if p.is_file()
    )
    assert "[REDACTED:password]" in written and "[REDACTED:" in written
    assert password[:4] not in written
    assert not any(line in written for line in body)
    for context_md in memory.root.rglob("context.md"):
        text = context_md.read_text(encoding="utf-8")
        assert password[:4] not in text and "MIIEow" not in text
