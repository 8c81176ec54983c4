"""The S3 client: the only module that imports boto3 (the optional `engram-ci[s3]` extra).

Speaks to AWS S3 or any S3-compatible server (MinIO, R2, Ceph, moto) with the standard AWS
configuration: credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
or a profile, the region from AWS_REGION / AWS_DEFAULT_REGION, another server from
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (boto3 reads all of these itself).

What the sync backend needs and nothing more: get an object (optionally one version of it),
put one with a precondition (If-Match on the ETag we read, If-None-Match: * for a new one),
list keys under a prefix, list an object's versions. Every call has a connect and read
timeout, bounded retries and an overall deadline; errors a user can fix become one-line
FatalErrors naming the fix, a failed precondition becomes `PreconditionFailed`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from engram_ci.deadline import DeadlineExceeded, call_within, seconds_from_env
from engram_ci.errors import FatalError

__all__ = ["Location", "ObjectVersion", "PreconditionFailed", "S3Client", "StoredObject"]

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
DEADLINE_SECONDS = 120.0
#: an object larger than this is refused before it is read (knowledge is kilobytes)
MAX_OBJECT_BYTES = 32 * 1024 * 1024


class PreconditionFailed(Exception):
    """The object changed since we read it (412), or a concurrent write is in flight (409)."""


@dataclass(frozen=True)
class Location:
    """`s3://bucket/some/prefix` parsed; the prefix has no leading or trailing slash."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise FatalError(
                f"{url!r} is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX",
                title="invalid S3 location",
            )
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise FatalError(
                f"{url!r} has a query, fragment or credentials in it: write s3://BUCKET/PREFIX "
                "and give credentials through the AWS environment",
                title="invalid S3 location",
            )
        prefix = parts.path.strip("/")
        if any(seg in {"", ".", ".."} for seg in prefix.split("/")) and prefix:
            raise FatalError(f"{url!r} has an empty, '.' or '..' path segment", title="bad prefix")
        return cls(parts.netloc, prefix)

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str  # without quotes
    version_id: str | None


@dataclass(frozen=True)
class ObjectVersion:
    version_id: str
    etag: str
    last_modified: str  # ISO 8601, UTC
    is_latest: bool


class S3Client:
    """One bucket's client. `client` is injectable (tests, or a caller's own session)."""

    def __init__(
        self,
        location: Location,
        *,
        client: Any | None = None,
        deadline_seconds: float | None = None,
        read_timeout: float = READ_TIMEOUT,
        attempts: int = 3,
    ) -> None:
        self.location = location
        self.deadline_seconds = deadline_seconds or seconds_from_env(
            "ENGRAM_S3_DEADLINE_SECONDS", DEADLINE_SECONDS, low=1, high=3600
        )
        # a session of our own: it reads the environment now (boto3's default session caches
        # credentials from its first use) and is not shared across threads
        self._client = client or boto3.session.Session().client(
            "s3",
            config=botocore.config.Config(
                connect_timeout=min(CONNECT_TIMEOUT, read_timeout),
                read_timeout=read_timeout,
                retries={"max_attempts": attempts, "mode": "standard"},
                # bucket in the path: works on S3-compatible servers without wildcard DNS
                s3={"addressing_style": "path"},
            ),
        )

    def close(self) -> None:
        self._client.close()

    # -- calls -------------------------------------------------------------------------------

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject | None:
        """The object, or None when there is no such key (or version)."""
        extra = {"VersionId": version_id} if version_id else {}

        def call() -> StoredObject | None:
            try:
                answer = self._client.get_object(Bucket=self.location.bucket, Key=key, **extra)
            except botocore.exceptions.ClientError as error:
                if _code(error) in {"NoSuchKey", "404", "NoSuchVersion"}:
                    return None
                raise
            size = int(answer.get("ContentLength") or 0)
            if size > MAX_OBJECT_BYTES:
                answer["Body"].close()
                raise FatalError(
                    f"{self.location.bucket}/{key} is {size} bytes, over the "
                    f"{MAX_OBJECT_BYTES // 2**20} MiB a knowledge object may have: remove it "
                    "or point engram at another prefix",
                    title="object too large",
                )
            body = answer["Body"].read(MAX_OBJECT_BYTES + 1)
            if len(body) > MAX_OBJECT_BYTES:
                raise FatalError(
                    f"{self.location.bucket}/{key} is over {MAX_OBJECT_BYTES // 2**20} MiB",
                    title="object too large",
                )
            return StoredObject(body, _etag(answer["ETag"]), answer.get("VersionId"))

        return self._run(f"read {key}", call)

    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        content_type: str = "application/json",
    ) -> StoredObject:
        """Write the object only if its ETag is still `if_match` (or it does not exist yet)."""
        extra: dict[str, str] = {}
        if if_match is not None:
            extra["IfMatch"] = f'"{if_match}"'
        elif if_none_match:
            extra["IfNoneMatch"] = "*"

        def call() -> StoredObject:
            try:
                answer = self._client.put_object(
                    Bucket=self.location.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    **extra,
                )
            except botocore.exceptions.ClientError as error:
                if _code(error) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                    raise PreconditionFailed(key) from error
                raise
            return StoredObject(body, _etag(answer["ETag"]), answer.get("VersionId"))

        return self._run(f"write {key}", call)

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix` (paginated, with a page cap so a looping server ends)."""
        token: str | None = None
        for _ in range(10_000):
            extra = {"ContinuationToken": token} if token else {}

            def call(extra: dict[str, str] = extra) -> Any:
                return self._client.list_objects_v2(
                    Bucket=self.location.bucket, Prefix=prefix, **extra
                )

            page = self._run(f"list {prefix or '/'}", call)
            for item in page.get("Contents", []):
                yield str(item["Key"])
            next_token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not next_token:
                return
            if next_token == token:
                break
            token = next_token
        raise FatalError(
            f"listing {self.location} did not end (the server repeats or never finishes its "
            "pages): check the endpoint in AWS_ENDPOINT_URL",
            title="endless listing",
        )

    def versions(self, key: str) -> list[ObjectVersion]:
        """The versions of one key, newest first; one entry when versioning is off."""

        def call() -> Any:
            return self._client.list_object_versions(
                Bucket=self.location.bucket, Prefix=key, MaxKeys=1000
            )

        page = self._run(f"list versions of {key}", call)
        found = [
            ObjectVersion(
                str(v.get("VersionId") or "null"),
                _etag(v["ETag"]),
                v["LastModified"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                bool(v.get("IsLatest")),
            )
            for v in page.get("Versions", [])
            if v["Key"] == key
        ]
        return sorted(found, key=lambda v: (v.last_modified, v.is_latest), reverse=True)

    # -- errors and the deadline -------------------------------------------------------------

    def _run(self, what: str, call: Callable[[], T]) -> T:
        """`call()` within the overall deadline (a server trickling bytes cannot hold us: the
        client is closed and the call abandoned), its failures as one-line errors."""
        try:
            return call_within(self.deadline_seconds, call, cancel=self._client.close)
        except PreconditionFailed:
            raise
        except DeadlineExceeded:
            raise FatalError(
                f"S3 took over {self.deadline_seconds:.0f} s to {what}: try again later, or "
                "raise ENGRAM_S3_DEADLINE_SECONDS",
                title="S3 deadline",
            ) from None
        except botocore.exceptions.NoCredentialsError:
            raise FatalError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                "AWS_PROFILE) for the bucket",
                title="S3 credentials missing",
            ) from None
        except botocore.exceptions.EndpointConnectionError as error:
            raise FatalError(
                f"cannot reach the S3 endpoint to {what} ({error.kwargs.get('endpoint_url')}): "
                "check AWS_ENDPOINT_URL and the network",
                title="S3 unreachable",
            ) from None
        except (
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ):
            raise FatalError(
                f"the S3 server did not answer in time to {what}: try again later",
                title="S3 timeout",
            ) from None
        except botocore.exceptions.ClientError as error:
            raise self._client_error(what, error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise FatalError(f"S3 failed to {what}: {error}", title="S3 error") from None

    def _client_error(self, what: str, error: botocore.exceptions.ClientError) -> FatalError:
        code = _code(error)
        bucket = self.location.bucket
        if code == "NoSuchBucket":
            return FatalError(
                f"bucket {bucket!r} does not exist: create it or fix the s3:// location",
                title="bucket not found",
            )
        if code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return FatalError(
                f"S3 refused to {what} in bucket {bucket!r} ({code}): check the AWS "
                "credentials and that they allow s3:GetObject, s3:PutObject, s3:ListBucket "
                "and s3:ListBucketVersions on it",
                title="S3 access denied",
            )
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return FatalError(
            f"S3 failed to {what} in bucket {bucket!r}: {code} (HTTP {status}); try again later",
            title="S3 error",
        )


def _code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _etag(value: str) -> str:
    return value.strip('"')
