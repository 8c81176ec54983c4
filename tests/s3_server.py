"""A real S3-compatible server on 127.0.0.1 for the S3 backend's tests: moto in server mode.

The backend's boto3 client talks HTTP to it exactly as to AWS (signed requests, conditional
writes, object versioning), found through AWS_ENDPOINT_URL like any S3-compatible endpoint.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLETESTKEY01",
    "AWS_SECRET_ACCESS_KEY": "test-secret-for-the-local-s3-server",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3_server() -> Iterator[str]:
    """Start the server on a free loopback port; yield its endpoint URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def make_bucket(endpoint: str, name: str, *, versioned: bool = True) -> Any:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, **_credential_kwargs())
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return client


def _credential_kwargs() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One moto server for the whole run (buckets keep tests apart)."""
    with s3_server() as endpoint:
        yield endpoint


_buckets = itertools.count()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh versioned bucket; the AWS environment points at the local server. Returns the
    bucket's name."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    name = f"engram-test-{os.getpid()}-{next(_buckets)}"
    make_bucket(s3_endpoint, name)
    return name
