"""s3_api.py: one bucket's client — every failure a one-line FatalError naming the fix, a
server that never finishes cut at the overall deadline, a listing that never ends cut too.

The local S3 server (moto) is used where it can show the behaviour; a looping listing, a body
longer than its headers said and refused credentials come from a stand-in client passed
through S3Client's `client` seam, since a well-behaved server never sends them."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest

from engram_ci.errors import FatalError
from engram_ci.sync import s3_api
from engram_ci.sync.s3_api import Location, PreconditionFailed, S3Client

from .s3_server import CREDENTIALS
from .trickle_server import TrickleServer


class StandIn:
    """A boto3 S3 client whose answers the test decides."""

    def __init__(self, **answers: Callable[..., Any]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.closed = False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            return self.answers[name](**kwargs)

        return call

    def close(self) -> None:
        self.closed = True


def _client(**answers: Callable[..., Any]) -> tuple[S3Client, StandIn]:
    stand_in = StandIn(**answers)
    return S3Client(Location.parse("s3://bucket/team"), client=stand_in), stand_in


def _refused(code: str, status: int = 403) -> Callable[..., Any]:
    def answer(**kwargs: Any) -> Any:
        response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        raise botocore.exceptions.ClientError(response, "Operation")

    return answer


@pytest.mark.slow
def test_a_server_that_trickles_is_cut_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with TrickleServer(interval=0.2) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        client = S3Client(Location.parse("s3://bucket/team"), deadline_seconds=1, attempts=1)
        started = time.monotonic()
        with pytest.raises(FatalError, match=r"took over 1 s to read team/bundle\.json") as error:
            client.get("team/bundle.json")
        took = time.monotonic() - started
    assert took < 10, took  # a byte every 0.2 s satisfies every read timeout: not the deadline
    assert "ENGRAM_S3_DEADLINE_SECONDS" in str(error.value)
    assert error.value.title == "S3 deadline"


def test_a_listing_that_repeats_its_page_ends_with_one_line() -> None:
    page = {"Contents": [{"Key": "team/a"}], "IsTruncated": True, "NextContinuationToken": "t1"}
    client, stand_in = _client(list_objects_v2=lambda **kwargs: page)
    keys = client.list_keys("team/")
    with pytest.raises(FatalError, match="did not end"):
        list(keys)
    assert stand_in.calls == ["list_objects_v2"] * 2  # the repeat is seen at once


def test_a_listing_that_never_ends_is_cut_at_its_page_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = iter(range(1_000_000))

    def answer(**kwargs: Any) -> Any:
        return {"IsTruncated": True, "NextContinuationToken": f"t{next(pages)}"}

    client, stand_in = _client(list_objects_v2=answer)
    with pytest.raises(FatalError, match="AWS_ENDPOINT_URL"):
        list(client.list_keys("team/"))
    assert len(stand_in.calls) == 10_000


def test_a_body_longer_than_its_headers_said_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(s3_api, "MAX_OBJECT_BYTES", 64)
    answer = {"ContentLength": 10, "Body": io.BytesIO(b"x" * 100), "ETag": '"e1"'}
    client, _ = _client(get_object=lambda **kwargs: answer)
    with pytest.raises(FatalError, match="over 0 MiB") as error:
        client.get("team/bundle.json")
    assert error.value.title == "object too large"


@pytest.mark.parametrize("code", ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"])
def test_refused_credentials_name_the_permissions_needed(code: str) -> None:
    client, _ = _client(put_object=_refused(code))
    with pytest.raises(
        FatalError, match=f"refused to write team/x in bucket 'bucket' \\({code}\\)"
    ):
        client.put("team/x", b"{}")


def test_another_client_error_names_its_code_and_status() -> None:
    client, _ = _client(get_object=_refused("SlowDown", 503))
    with pytest.raises(FatalError, match=r"SlowDown \(HTTP 503\); try again later"):
        client.get("team/x")


def test_a_transport_failure_is_one_line() -> None:
    def answer(**kwargs: Any) -> Any:
        raise botocore.exceptions.ResponseStreamingError(error="connection reset")

    client, _ = _client(list_object_versions=answer)
    with pytest.raises(FatalError, match="S3 failed to list versions of team/x: ") as error:
        client.versions("team/x")
    assert "\n" not in str(error.value)


def test_writes_with_and_without_preconditions(s3_bucket: str) -> None:
    client = S3Client(Location.parse(f"s3://{s3_bucket}/team"))
    first = client.put("team/x", b"one")  # no precondition: a plain write
    second = client.put("team/x", b"two", if_match=first.etag)
    with pytest.raises(PreconditionFailed):
        client.put("team/x", b"three", if_match=first.etag)  # someone wrote since
    with pytest.raises(PreconditionFailed):
        client.put("team/x", b"three", if_none_match=True)  # it exists already
    stored = client.get("team/x")
    assert stored is not None and (stored.body, stored.etag) == (b"two", second.etag)


def test_a_write_to_a_bucket_that_is_gone_names_the_fix(s3_bucket: str) -> None:
    client = S3Client(Location.parse(f"s3://{s3_bucket}/team"))
    boto3.client("s3").delete_bucket(Bucket=s3_bucket)
    with pytest.raises(FatalError, match="does not exist: create it or fix the s3:// location"):
        client.put("team/x", b"{}")
