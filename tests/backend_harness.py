"""Harnesses for the backend contract suite (tests/test_backend_contract.py).

Every registered backend (engram_ci.sync.backend.registered()) must have a pytest fixture
named `<name>_harness` returning a `Harness`: a fresh, real store that several "machines"
(memory dirs) reach, plus the controls the contract needs — another writer, a raw look at
what is stored, a write counter and faults. The gist harness runs against the GitHub
stand-in, the repo harness against real clones of a bare remote. Add yours beside these.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

import boto3
import botocore.config
import pytest

from engram_ci.memory.paths import METADATA_FILE, MemoryLayout
from engram_ci.sync.backend import Backend
from engram_ci.sync.gist_backend import GistBackend
from engram_ci.sync.github_api import GistStore, RetryPolicy
from engram_ci.sync.repo_backend import RepoBackend
from engram_ci.sync.repoinit import init_repo
from engram_ci.sync.s3_api import Location, S3Client
from engram_ci.sync.s3_backend import BUNDLE_FILE, FORMAT, S3Backend
from tests.github_server import GitHubStandIn

from .repo_helpers import bare_remote, git

#: what an outside writer puts in a file; None deletes it
Content = str | bytes | None


class Harness(Protocol):
    def backend(self, layout: MemoryLayout, project: str) -> Backend:
        """A new connection for the machine whose memory is `layout`."""
        ...

    def external_write(self, project: str, files: dict[str, Content]) -> None:
        """Another tool (or engram itself) writes these files of the project's place."""
        ...

    def stored(self, project: str) -> dict[str, bytes]:
        """Every file the store holds for the project now, raw."""
        ...

    def writes(self) -> int:
        """How many writes the store has taken so far."""
        ...

    def break_store(self, kind: str) -> None:
        """From now on the store fails: kind "500" answers errors, "timeout" never answers."""
        ...


# -- gist -----------------------------------------------------------------------------------

GIST_TOKEN = "ghp_ContractSuiteToken00000000000000001"


class GistHarness:
    def __init__(self, gh: GitHubStandIn) -> None:
        self.gh = gh
        self.placed: dict[str, str] = {}  # project -> a gist another writer made for it
        self.stores: list[GistStore] = []

    def _store(self) -> GistStore:
        policy = RetryPolicy(budget_seconds=1.5, first_delay=0.05, max_delay=0.2)
        store = GistStore(GIST_TOKEN, self.gh.api_url, policy=policy, timeout=1)
        self.stores.append(store)
        return store

    def backend(self, layout: MemoryLayout, project: str) -> Backend:
        return GistBackend(layout, self._store(), gist_id=self.placed.get(project))

    def _gist_of(self, project: str) -> str | None:
        if project in self.placed:
            return self.placed[project]
        for gist_id in list(self.gh.gists):
            meta = self.gh.files(gist_id).get(METADATA_FILE) or "{}"
            if json.loads(meta).get("project") == project:
                return gist_id
        return None

    def external_write(self, project: str, files: dict[str, Content]) -> None:
        # the API carries text: undecodable bytes arrive replaced, as GitHub stores them
        text = {
            n: (c.decode("utf-8", errors="replace") if isinstance(c, bytes) else c)
            for n, c in files.items()
        }
        gist_id = self._gist_of(project)
        if gist_id is None:
            created = {n: t for n, t in text.items() if t is not None}
            self.placed[project] = self.gh.create_gist(created)
        else:
            self.gh.write(gist_id, text)

    def stored(self, project: str) -> dict[str, bytes]:
        gist_id = self._gist_of(project)
        return {n: t.encode() for n, t in self.gh.files(gist_id).items()} if gist_id else {}

    def writes(self) -> int:
        return self.gh.count("PATCH") + self.gh.count("POST", r"^/gists$")

    def break_store(self, kind: str) -> None:
        if kind == "timeout":
            self.gh.stall = 3.0
        else:
            self.gh.fail(500, count=10_000, message="Internal Server Error")

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def gist_harness(github_as: Callable[..., GitHubStandIn]) -> Iterator[GistHarness]:
    harness = GistHarness(github_as(GIST_TOKEN, retry_seconds=1.5))
    yield harness
    harness.gh.stall = 0.0
    harness.close()


# -- git repository -----------------------------------------------------------------------------


class _BrokenRemote(BaseHTTPRequestHandler):
    mode = "500"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        if self.mode == "timeout":
            threading.Event().wait(30)  # hold the connection, never answer
            return
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


class RepoHarness:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.remote = bare_remote(tmp)
        seed = tmp / "seed"
        init_repo(seed)
        git(seed, "push", "-q", str(self.remote), "main")
        self.outsider = self._clone("outsider")
        self.clones: list[Path] = []
        self.broken: ThreadingHTTPServer | None = None

    def _clone(self, name: str) -> Path:
        path = self.tmp / "clones" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            git(self.tmp, "clone", "-q", str(self.remote), str(path))
        return path

    def backend(self, layout: MemoryLayout, project: str) -> Backend:
        clone = self._clone(f"{layout.root.parent.name}-{layout.root.name}")
        self.clones.append(clone)
        return RepoBackend(clone, remote_sync=True)

    def external_write(self, project: str, files: dict[str, Content]) -> None:
        git(self.outsider, "pull", "-q", "--ff-only", "origin", "main")
        folder = self.outsider / project
        for name, content in files.items():
            path = folder / name
            if content is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        git(self.outsider, "add", "-A")
        git(self.outsider, "commit", "-q", "-m", "another writer")
        git(self.outsider, "push", "-q", "origin", "HEAD:main")

    def stored(self, project: str) -> dict[str, bytes]:
        names = git(self.remote, "ls-tree", "-r", "--name-only", "main", "--", f"{project}/")
        out = {}
        for path in names.splitlines():
            blob = subprocess.run(
                ["git", "show", f"main:{path}"], cwd=self.remote, capture_output=True, check=True
            )
            out[path.removeprefix(f"{project}/")] = blob.stdout
        return out

    def writes(self) -> int:
        return int(git(self.remote, "rev-list", "--count", "main"))

    def break_store(self, kind: str) -> None:
        _BrokenRemote.mode = kind
        self.broken = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenRemote)
        self.broken.daemon_threads = True
        threading.Thread(target=self.broken.serve_forever, daemon=True).start()
        host, port = self.broken.server_address[:2]
        assert isinstance(host, str)
        url = f"http://{host}:{port}/knowledge.git"
        # git's own stall detector, so a hung remote fails in seconds, not NETWORK_TIMEOUT
        self.monkeypatch.setenv("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        self.monkeypatch.setenv("GIT_HTTP_LOW_SPEED_TIME", "2")
        for clone in self.clones:
            git(clone, "remote", "set-url", "origin", url)
        self.remote_url = url

    def close(self) -> None:
        if self.broken is not None:
            self.broken.shutdown()
            self.broken.server_close()


@pytest.fixture
def repo_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RepoHarness]:
    harness = RepoHarness(tmp_path, monkeypatch)
    yield harness
    harness.close()


# -- S3 (moto's server mode on 127.0.0.1) --------------------------------------------------------


class S3Harness:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.url = f"s3://{bucket}/team"
        self.endpoint = os.environ["AWS_ENDPOINT_URL"]
        self.admin = boto3.client("s3", endpoint_url=self.endpoint)
        self.broken: ThreadingHTTPServer | None = None

    def backend(self, layout: MemoryLayout, project: str) -> Backend:
        # short timeouts and one try: a broken server fails the test in seconds
        config = botocore.config.Config(
            connect_timeout=1,
            read_timeout=1,
            retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"},
        )
        client = boto3.session.Session().client("s3", endpoint_url=self.endpoint, config=config)
        where = Location.parse(self.url)
        return S3Backend(self.url, client=S3Client(where, client=client, deadline_seconds=10))

    def _key(self, project: str) -> str:
        return f"team/{project}/{BUNDLE_FILE}"

    def _files(self, project: str) -> dict[str, str]:
        try:
            body = self.admin.get_object(Bucket=self.bucket, Key=self._key(project))["Body"]
        except self.admin.exceptions.NoSuchKey:
            return {}
        files: dict[str, str] = json.loads(body.read())["files"]
        return files

    def external_write(self, project: str, files: dict[str, Content]) -> None:
        current = self._files(project)
        for name, content in files.items():
            if content is None:
                current.pop(name, None)
            else:
                text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
                current[name] = text
        document = {"format": FORMAT, "project": project, "files": current}
        body = json.dumps(document, sort_keys=True).encode()
        self.admin.put_object(Bucket=self.bucket, Key=self._key(project), Body=body)

    def stored(self, project: str) -> dict[str, bytes]:
        return {n: t.encode() for n, t in self._files(project).items()}

    def writes(self) -> int:
        found = self.admin.list_object_versions(Bucket=self.bucket).get("Versions", [])
        return len(found)

    def break_store(self, kind: str) -> None:
        _BrokenRemote.mode = kind
        self.broken = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenRemote)
        self.broken.daemon_threads = True
        threading.Thread(target=self.broken.serve_forever, daemon=True).start()
        host, port = self.broken.server_address[:2]
        assert isinstance(host, str)
        self.endpoint = f"http://{host}:{port}"

    def close(self) -> None:
        if self.broken is not None:
            self.broken.shutdown()
            self.broken.server_close()


@pytest.fixture
def s3_harness(s3_bucket: str) -> Iterator[S3Harness]:
    harness = S3Harness(s3_bucket)
    yield harness
    harness.close()
