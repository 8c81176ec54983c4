"""Ingest holds the memory lock for its write phase only (issue 15: "the memory lock is never
held across a network wait").

Reading, extracting (a model call may wait on a server) and rendering the archive run without
the lock; the write phase re-reads the manifest and the knowledge files under it. These tests
run another writer *inside* the unlocked phase — from the extractor seam in-process, and from
real processes while a real model server on 127.0.0.1 keeps ingest waiting — and check that
the other writer gets the lock at once and that nothing either of them wrote is lost or
written twice.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engram_ci.cli.ingest_cmd import samples_dir
from engram_ci.ingest import Extractor, IngestOptions, run_ingest
from engram_ci.ingest.extractor import ExtractionLike
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.extract import extract_offline
from engram_ci.memory.fsutil import file_lock
from engram_ci.memory.manifest import Manifest
from engram_ci.memory.paths import MemoryLayout
from engram_ci.progress import NullProgress
from engram_ci.sync import reposync
from engram_ci.transcripts.model import Session

from .llm_helpers import ANSWER, ollama_reply
from .repo_helpers import add_block, engram_env, git

WEATHER_1 = "3b8e9c52-6f0a-4d7e-9a41-2c5d8e1f7a03"
INVOICE_1 = "c7a2e815-4d9b-4f36-8e0c-51b7d2a9f4e6"
INVOICE_FILE = f"-home-dev-src-invoice-cli/{INVOICE_1}.jsonl"


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    return Path(shutil.copytree(samples_dir(), tmp_path / "projects"))


def _options(memory: MemoryLayout, root: Path, **kw: object) -> IngestOptions:
    return IngestOptions(memory_dir=memory.root, claude_roots=(root,), jobs=1, **kw)  # type: ignore[arg-type]


def _contents(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("memory.lock", "staging.lock", "swept")
    }


def _session_ids(memory: MemoryLayout, project: str, category: str) -> list[str]:
    path = memory.knowledge_dir(project) / f"{category}.md"
    return [b.session_id for b in knowledge.parse(path.read_text()).blocks]


def _lock_free_within(path: Path, seconds: float) -> bool:
    """Whether the memory lock can be taken (and is, then released) within `seconds`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    with path.open("a+b") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
                continue
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return True


def _extractor_that(during: Callable[[Session], None]) -> Extractor:
    """The offline extractor, with `during(session)` run first: another writer's moment."""

    def extract(session: Session) -> ExtractionLike:
        during(session)
        return extract_offline(session)

    return extract


# -- in-process: another writer inside the unlocked phase ----------------------------------------


def test_extraction_runs_without_the_memory_lock_and_archives_are_staged(
    samples: Path, memory: MemoryLayout
) -> None:
    seen: list[tuple[bool, int, int]] = []

    def during(session: Session) -> None:
        conversations = memory.root / "conversations"
        visible = list(conversations.rglob("conversation.md")) if conversations.exists() else []
        staged = list(conversations.rglob(".conversation.md.*.tmp")) if visible == [] else []
        seen.append((_lock_free_within(memory.lock_file, 1), len(visible), len(staged)))

    report = run_ingest(_options(memory, samples), extractor=_extractor_that(during))
    assert report.sessions_ingested == 3
    # every extraction found the lock free; what earlier sessions rendered waits on disk as
    # staged temp files (not in memory), none of it visible before the write phase
    assert [free for free, _, _ in seen] == [True, True, True]
    assert [(v, s) for _, v, s in seen] == [(0, 0), (0, 1), (0, 2)]
    assert len(list((memory.root / "conversations").rglob("conversation.md"))) == 3
    assert not list(memory.root.rglob(".*.tmp"))


def test_a_knowledge_write_during_the_unlocked_phase_is_kept(
    samples: Path, memory: MemoryLayout
) -> None:
    def during(session: Session) -> None:
        if session.session_id == INVOICE_1:
            assert _lock_free_within(memory.lock_file, 2)  # (the old ingest held it: deadlock)
            with file_lock(memory.lock_file):  # what a pull or `engram note` does meanwhile
                add_block(memory, "invoice-cli", "pulled-meanwhile", "- from another machine")

    run_ingest(_options(memory, samples), extractor=_extractor_that(during))
    assert sorted(_session_ids(memory, "invoice-cli", "decisions")) == sorted(
        [INVOICE_1, "pulled-meanwhile"]
    )
    context = (memory.knowledge_dir("invoice-cli") / "context.md").read_text()
    assert "from another machine" in context  # synthesised from the files as they are now


def test_another_ingest_of_the_same_bytes_meanwhile_gives_what_two_runs_in_a_row_give(
    samples: Path, memory: MemoryLayout, tmp_path: Path
) -> None:
    reference = MemoryLayout(tmp_path / "reference")
    run_ingest(_options(reference, samples))
    ran: list[int] = []

    def during(session: Session) -> None:
        if not ran:  # another ingest, start to finish, while this one is extracting
            assert _lock_free_within(memory.lock_file, 2)
            ran.append(run_ingest(_options(memory, samples)).sessions_ingested)

    report = run_ingest(_options(memory, samples), extractor=_extractor_that(during))
    assert ran == [3] and report.sessions_ingested == 3  # both recorded them: same bytes
    assert _contents(memory.root) == _contents(reference.root)  # no block twice, none lost


def test_another_ingest_of_newer_bytes_meanwhile_wins_and_nothing_goes_stale(
    samples: Path, memory: MemoryLayout, tmp_path: Path
) -> None:
    transcript = samples / INVOICE_FILE
    first_line = transcript.read_text().splitlines()[0]
    grown = json.loads(first_line) | {"uuid": "grown-1"}
    grown["message"] = {"role": "user", "content": "a line written after the first read"}
    ran: list[str] = []

    def during(session: Session) -> None:
        if session.session_id == INVOICE_1 and not ran:
            assert _lock_free_within(memory.lock_file, 2)
            with transcript.open("a") as handle:  # the agent goes on writing...
                handle.write(json.dumps(grown) + "\n")
            run_ingest(_options(memory, samples))  # ...and a hook's ingest reads the new bytes
            ran.append("ingested")

    report = run_ingest(_options(memory, samples), extractor=_extractor_that(during))
    assert ran == ["ingested"]
    assert ("invoice-cli", INVOICE_1) not in report.sessions  # left to the other run
    assert report.sessions_ingested == 2
    conversation = memory.conversation_dir("invoice-cli", INVOICE_1) / "conversation.md"
    assert "a line written after the first read" in conversation.read_text()
    manifest = Manifest.load(memory.state_dir)
    entry = next(e for k, e in manifest.entries.items() if k.endswith(INVOICE_FILE))
    assert entry.fingerprint[0][1] == transcript.stat().st_size  # the newer bytes, recorded
    assert _session_ids(memory, "invoice-cli", "decisions") == [INVOICE_1]
    assert not list(memory.root.rglob(".*.tmp"))  # the stale reading's staged files are gone
    # and a run now agrees: nothing left to redo
    again = run_ingest(_options(memory, samples))
    assert again.sessions_ingested == 0


def test_another_ingest_of_other_transcripts_meanwhile_keeps_both_records(
    samples: Path, memory: MemoryLayout, tmp_path: Path
) -> None:
    weather = tmp_path / "weather"
    shutil.move(samples / "-home-dev-src-weather-api", weather / "-home-dev-src-weather-api")

    def during(session: Session) -> None:
        if session.session_id == INVOICE_1:
            assert _lock_free_within(memory.lock_file, 2)
            assert run_ingest(_options(memory, weather)).sessions_ingested == 2

    assert run_ingest(_options(memory, samples), extractor=_extractor_that(during)).sessions == [
        ("invoice-cli", INVOICE_1)
    ]
    # the manifest saved meanwhile was read again, not overwritten: nothing is redone
    assert run_ingest(_options(memory, weather)).sessions_unchanged == 2
    assert run_ingest(_options(memory, samples)).sessions_unchanged == 1
    assert (memory.knowledge_dir("weather-api") / "decisions.md").exists()


class _AfterFirstSession(NullProgress):
    """A progress sink that runs `then` once, after the first session is read: a moment
    inside the unlocked phase of a run that calls no extractor (--skip-knowledge)."""

    def __init__(self, then: Callable[[], None]) -> None:
        self.then: Callable[[], None] | None = then

    def advance(self, nbytes: int) -> None:
        if self.then is not None:
            then, self.then = self.then, None
            then()


def test_a_run_without_knowledge_leaves_a_same_bytes_reading_with_knowledge_alone(
    samples: Path, memory: MemoryLayout
) -> None:
    def full_ingest() -> None:
        assert run_ingest(_options(memory, samples)).sessions_ingested == 3

    progress = _AfterFirstSession(full_ingest)
    report = run_ingest(_options(memory, samples, skip_knowledge=True), progress=progress)
    assert report.sessions_ingested == 0  # the other run's readings had the knowledge too
    again = run_ingest(_options(memory, samples))
    assert (again.sessions_ingested, again.sessions_unchanged) == (0, 3)  # nothing to redo


def test_a_failed_run_leaves_no_staged_files(samples: Path, memory: MemoryLayout) -> None:
    calls: list[str] = []

    def during(session: Session) -> None:
        calls.append(session.session_id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # after two sessions staged their archive

    with pytest.raises(KeyboardInterrupt):
        run_ingest(_options(memory, samples), extractor=_extractor_that(during))
    assert not list(memory.root.rglob(".*.tmp"))
    conversations = memory.root / "conversations"
    # no archive, and no empty session folder that `engram status` would count as a session
    assert not list(conversations.glob("*/*"))  # (glob of a missing folder: nothing)


# -- real processes: a model server that keeps ingest waiting ------------------------------------


class GatedModel:
    """An Ollama /api/chat on 127.0.0.1 that holds every request until the gate opens, then
    answers as Ollama documents it (llm_helpers.ollama_reply): a model that stalls."""

    def __init__(self) -> None:
        self.waiting = threading.Event()
        self.gate = threading.Event()
        self.requests = 0
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                model.requests += 1
                model.waiting.set()
                model.gate.wait(60)
                body = json.dumps(ollama_reply(json.dumps(ANSWER))).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> GatedModel:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated_model() -> Iterator[GatedModel]:
    with GatedModel() as model:
        yield model


def _engram(*argv: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "engram_ci", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - began


def test_a_stalled_model_keeps_neither_sync_nor_another_ingest_from_the_memory(
    samples: Path, memory: MemoryLayout, tmp_path: Path, gated_model: GatedModel
) -> None:
    add_block(memory, "invoice-cli", "seeded", "- was here before")
    repo = tmp_path / "knowledge-repo"
    reposync.init_repo(repo)
    other = tmp_path / "other-sessions"  # a second agent store: weather-api only
    shutil.copytree(samples / "-home-dev-src-weather-api", other / "-home-dev-src-weather-api")
    env = engram_env(ENGRAM_LLM_DEADLINE_SECONDS="120", ENGRAM_MEMORY_DIR=str(memory.root))
    model = ("--provider", "ollama", "--provider-url", gated_model.url, "--json")
    llm_ingest = subprocess.Popen(
        [sys.executable, "-m", "engram_ci", "ingest", "--sessions-dir", str(samples), *model],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert gated_model.waiting.wait(30), "ingest never asked the model"
        # ingest now waits on the model: everything else gets the memory at once
        assert _lock_free_within(memory.lock_file, 5)
        pushed, push_took = _engram("sync", "push-repo", "invoice-cli", str(repo), env=env)
        assert pushed.returncode == 0, pushed.stderr
        pulled, pull_took = _engram("sync", "pull-repo", "invoice-cli", str(repo), env=env)
        assert pulled.returncode == 0, pulled.stderr
        offline, ingest_took = _engram("ingest", "--sessions-dir", str(other), "--json", env=env)
        assert offline.returncode == 0, offline.stderr
        assert json.loads(offline.stdout)["sessions_ingested"] == 2
        with file_lock(memory.lock_file):  # a pull landing mid-ingest
            add_block(memory, "invoice-cli", "pulled-meanwhile", "- from another machine")
        assert llm_ingest.poll() is None, "the model ingest was meant to be still waiting"
        assert gated_model.requests == 1
        assert max(push_took, pull_took, ingest_took) < 30
    finally:
        gated_model.gate.set()
        out, err = llm_ingest.communicate(timeout=120)
    assert llm_ingest.returncode == 0, err
    report = json.loads(out)
    assert report["sessions_ingested"] == 3 and report["llm"]["sessions"] == 3
    # nothing lost, nothing twice: the seeded and the mid-ingest blocks beside the model's,
    # and the weather sessions the offline ingest recorded first replaced by the model's
    assert sorted(_session_ids(memory, "invoice-cli", "decisions")) == sorted(
        [INVOICE_1, "pulled-meanwhile", "seeded"]
    )
    weather = knowledge.parse(
        (memory.knowledge_dir("weather-api") / "decisions.md").read_text()
    ).blocks
    assert sorted(b.session_id for b in weather) == sorted({b.session_id for b in weather})
    assert {b.tag("source") for b in weather} == {"ollama:llama3.1"}
    assert "seeded" in git(repo, "show", "HEAD:invoice-cli/decisions.md")
    assert not list(memory.root.rglob(".*.tmp"))
