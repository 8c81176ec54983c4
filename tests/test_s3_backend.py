"""The S3 backend against a real S3-compatible server on 127.0.0.1 (moto's server mode).

boto3 speaks signed HTTP to it as to AWS: conditional writes, object versioning, listing.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import s3sync
from engram_ci.sync.backend import Conflict, Snapshot, StoreNotFound, VersionNotFound, registered
from engram_ci.sync.s3_api import Location, S3Client
from engram_ci.sync.s3_backend import BUNDLE_FILE, S3Backend

from .repo_helpers import add_block, run_python, sessions_in
from .s3_server import make_bucket

P = "webapp"


def stored_object(bucket: str, key: str) -> dict[str, object]:
    client = boto3.client("s3")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    document: dict[str, object] = json.loads(body)
    return document


def object_versions(bucket: str, key: str) -> int:
    client = boto3.client("s3")
    return len(client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []))


def test_is_registered_as_a_backend() -> None:
    assert registered()["s3"] is S3Backend


def test_push_creates_one_bundle_then_pull_merges_it_elsewhere(
    s3_bucket: str, memory: MemoryLayout, tmp_path: Path
) -> None:
    url = f"s3://{s3_bucket}/team"
    add_block(memory, P, "s1", "- use pnpm, not npm")
    first = s3sync.push(memory.root, P, url)
    assert first.created and first.changed
    document = stored_object(s3_bucket, f"team/{P}/{BUNDLE_FILE}")
    assert document["project"] == P
    files = document["files"]
    assert isinstance(files, dict) and "use pnpm" in files["decisions.md"]

    other = MemoryLayout(tmp_path / "other")
    add_block(other, P, "s2", "- tests run with uv run pytest -m unit")
    pulled = s3sync.pull(other.root, P, url)
    assert pulled.changed
    text = (other.knowledge_dir(P) / "decisions.md").read_text()
    assert sessions_in(text) == {"s1", "s2"}


def test_a_push_with_nothing_new_writes_nothing(s3_bucket: str, memory: MemoryLayout) -> None:
    url = f"s3://{s3_bucket}"
    add_block(memory, P, "s1", "- a decision")
    s3sync.push(memory.root, P, url)
    again = s3sync.push(memory.root, P, url)
    assert not again.changed
    assert object_versions(s3_bucket, f"{P}/{BUNDLE_FILE}") == 1


def test_a_stale_write_is_a_conflict_not_an_overwrite(s3_bucket: str, memory: MemoryLayout) -> None:
    backend = S3Backend(f"s3://{s3_bucket}/x")
    empty = backend.read(P)
    assert not empty.exists
    backend.write(P, {"decisions.md": "# Decisions\n"}, expected=empty)
    with pytest.raises(Conflict):  # If-None-Match: * on an object that now exists
        backend.write(P, {"decisions.md": "# Decisions\n\nother\n"}, expected=empty)
    current = backend.read(P)
    backend.write(P, {"decisions.md": "# Decisions\n\nmine\n"}, expected=current)
    with pytest.raises(Conflict):  # If-Match on the ETag we read, which has moved on
        backend.write(P, {"decisions.md": "# Decisions\n\ntheirs\n"}, expected=current)
    assert "mine" in backend.read(P).files["decisions.md"]


def test_concurrent_pushers_lose_no_block(s3_bucket: str, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket}/shared"
    layouts = []
    for i in range(6):
        layout = MemoryLayout(tmp_path / f"machine{i}")
        add_block(layout, P, f"session-{i}", f"- fact number {i}")
        layouts.append(layout)
    errors: list[BaseException] = []
    start = threading.Barrier(len(layouts))

    def push(layout: MemoryLayout) -> None:
        try:
            start.wait()
            s3sync.push(layout.root, P, url)
        except BaseException as error:  # collected and re-raised in the test thread
            errors.append(error)

    threads = [threading.Thread(target=push, args=(layout,)) for layout in layouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    files = S3Backend(url).read(P).files
    assert sessions_in(files["decisions.md"]) == {f"session-{i}" for i in range(6)}


def test_restore_sticks_and_versions_take_a_prefix(s3_bucket: str, memory: MemoryLayout) -> None:
    url = f"s3://{s3_bucket}/team"
    add_block(memory, P, "s1", "- first")
    v1 = s3sync.push(memory.root, P, url).version
    add_block(memory, P, "s2", "- second")
    s3sync.push(memory.root, P, url)
    versions = [v.version for v in s3sync.history(P, url)]
    assert versions[-1] == v1 and len(versions) == 2

    restored = s3sync.pull(memory.root, P, url, version=v1[:7])
    assert restored.restored == v1
    s3sync.push(memory.root, P, url)
    head = S3Backend(url).read(P).files["decisions.md"]
    assert sessions_in(head) == {"s1"}  # s2 became a tombstone, not merged back


def test_unknown_or_short_versions_are_their_own_error(
    s3_bucket: str, memory: MemoryLayout
) -> None:
    url = f"s3://{s3_bucket}"
    add_block(memory, P, "s1", "- first")
    s3sync.push(memory.root, P, url)
    with pytest.raises(VersionNotFound, match="not found"):
        s3sync.pull(memory.root, P, url, version="0000000")
    with pytest.raises(VersionNotFound, match="at least 7"):
        s3sync.pull(memory.root, P, url, version="abc")


def test_an_unversioned_bucket_has_one_version(
    s3_endpoint: str, s3_bucket: str, memory: MemoryLayout
) -> None:
    plain = f"{s3_bucket}-plain"
    make_bucket(s3_endpoint, plain, versioned=False)
    url = f"s3://{plain}"
    add_block(memory, P, "s1", "- first")
    s3sync.push(memory.root, P, url)
    add_block(memory, P, "s2", "- second")
    last = s3sync.push(memory.root, P, url).version
    assert [v.version for v in s3sync.history(P, url)] == [last]


def test_projects_are_listed_under_the_prefix(s3_bucket: str, memory: MemoryLayout) -> None:
    for project in ("alpha", "beta"):
        add_block(memory, project, "s1", f"- about {project}")
        s3sync.push(memory.root, project, f"s3://{s3_bucket}/kb")
    add_block(memory, "gamma", "s1", "- elsewhere")
    s3sync.push(memory.root, "gamma", f"s3://{s3_bucket}/other")
    assert S3Backend(f"s3://{s3_bucket}/kb").list_projects() == ["alpha", "beta"]


def test_secrets_are_redacted_and_local_memory_is_not(s3_bucket: str, memory: MemoryLayout) -> None:
    secret = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c"
    add_block(memory, P, "s1", f"- the CI token is {secret}")
    result = s3sync.push(memory.root, P, f"s3://{s3_bucket}")
    assert result.secrets_redacted >= 1
    raw = json.dumps(stored_object(s3_bucket, f"{P}/{BUNDLE_FILE}"))
    assert secret not in raw and "[REDACTED" in raw
    assert secret in (memory.knowledge_dir(P) / "decisions.md").read_text()


def test_encrypted_push_stores_no_plaintext(
    s3_bucket: str, memory: MemoryLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram_ci.sync import crypto

    monkeypatch.setenv("ENGRAM_PASSPHRASE", "correct horse battery staple")
    cipher = crypto.cipher_from_options()
    url = f"s3://{s3_bucket}"
    add_block(memory, P, "s1", "- the billing service owns the invoices table")
    s3sync.push(memory.root, P, url, cipher=cipher, encrypt=True)
    raw = json.dumps(stored_object(s3_bucket, f"{P}/{BUNDLE_FILE}"))
    assert "invoices" not in raw
    other = MemoryLayout(tmp_path / "other")
    s3sync.pull(other.root, P, url, cipher=cipher)
    assert "invoices table" in (other.knowledge_dir(P) / "decisions.md").read_text()


def test_a_foreign_object_is_one_clear_error(s3_bucket: str) -> None:
    boto3.client("s3").put_object(Bucket=s3_bucket, Key=f"{P}/{BUNDLE_FILE}", Body=b"<html>")
    with pytest.raises(FatalError, match="not an engram-ci knowledge bundle"):
        S3Backend(f"s3://{s3_bucket}").read(P)


def test_a_missing_bucket_names_the_fix(s3_bucket: str, memory: MemoryLayout) -> None:
    add_block(memory, P, "s1", "- first")
    with pytest.raises(FatalError, match="does not exist: create it"):
        s3sync.push(memory.root, P, "s3://no-such-bucket-here")


def test_missing_credentials_name_the_variables(
    s3_bucket: str, memory: MemoryLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    add_block(memory, P, "s1", "- first")
    with pytest.raises(FatalError, match="AWS_ACCESS_KEY_ID"):
        s3sync.push(memory.root, P, f"s3://{s3_bucket}")


def test_an_unreachable_endpoint_is_one_line(
    s3_bucket: str, memory: MemoryLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    add_block(memory, P, "s1", "- first")
    with pytest.raises(FatalError, match="cannot reach the S3 endpoint"):
        s3sync.pull(memory.root, P, f"s3://{s3_bucket}")


@pytest.mark.parametrize(
    "url",
    ["https://bucket/x", "s3://", "s3://user:pw@bucket/x", "s3://bucket/a/../b", "s3://b/x?q=1"],
)
def test_bad_locations_are_refused(url: str) -> None:
    with pytest.raises(FatalError):
        Location.parse(url)


def test_an_oversized_object_is_refused_before_it_is_read(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram_ci.sync import s3_api

    monkeypatch.setattr(s3_api, "MAX_OBJECT_BYTES", 64)
    boto3.client("s3").put_object(Bucket=s3_bucket, Key="k/big", Body=b"x" * 100)
    client = S3Client(Location.parse(f"s3://{s3_bucket}/k"))
    with pytest.raises(FatalError, match=r"too large|over"):
        client.get("k/big")


def test_a_snapshot_token_is_not_needed_to_write(s3_bucket: str) -> None:
    """The precondition is the version (the ETag), so a snapshot rebuilt from it works."""
    backend = S3Backend(f"s3://{s3_bucket}")
    first = backend.write(P, {"context.md": "# ctx\n"}, expected=Snapshot({}, None))
    backend.write(P, {"context.md": "# ctx 2\n"}, expected=Snapshot({}, first.version))
    assert backend.read(P).files["context.md"] == "# ctx 2\n"


def test_without_boto3_an_s3_sync_names_the_extra_to_install(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.modules['boto3'] = None  # installed without the s3 extra\n"
        "from pathlib import Path\n"
        "from engram_ci.errors import FatalError\n"
        "from engram_ci.sync import s3sync\n"
        "try:\n"
        f"    s3sync.push(Path({str(tmp_path)!r}), 'webapp', 's3://bucket/team')\n"
        "except FatalError as error:\n"
        "    print(error.title, '|', error)\n"
    )
    done = run_python("-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "boto3 missing | S3 sync needs boto3: pip install 'engram-ci[s3]'"


def test_a_project_never_pushed_has_no_history_or_versions(s3_bucket: str) -> None:
    backend = S3Backend(f"s3://{s3_bucket}/team")
    with pytest.raises(StoreNotFound, match="holds no project webapp: push it first"):
        backend.history(P)
    with pytest.raises(StoreNotFound, match="push-s3 webapp"):
        backend.read_version(P, "0123456789abcdef")


def test_only_project_bundles_are_listed_as_projects(s3_bucket: str) -> None:
    client = boto3.client("s3")
    for key in ("team/notes.txt", "team/a/b/bundle.json", f"team/{P}/{BUNDLE_FILE}", "x/y.json"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"{}")
    assert S3Backend(f"s3://{s3_bucket}/team").list_projects() == [P]
