"""secret_rules.py's vendor formats beyond the corpus: a PEM block hidden in base64 (a
kubeconfig's `client-key-data`, an `echo ... | base64 -d`) is a private key only when it
decodes to one — a base64 certificate beside it is public and stays."""

from __future__ import annotations

import base64
import random

import pytest

from engram_ci.sync.redact import RedactionReport, redact_text


def _pem(label: str, seed: int) -> str:
    rng = random.Random(seed)
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(600))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _encoded(label: str, seed: int = 1) -> str:
    return base64.b64encode(_pem(label, seed).encode()).decode()


@pytest.mark.parametrize(
    "label", ["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"]
)
def test_a_base64_private_key_is_redacted_whole(label: str) -> None:
    report = RedactionReport()
    text = f"echo {_encoded(label)} | base64 -d > key.pem"
    assert redact_text(text, report) == "echo [REDACTED:private-key] | base64 -d > key.pem"
    assert report.counts == {"private-key": 1}


def test_a_base64_certificate_is_public_and_kept() -> None:
    text = f"echo {_encoded('CERTIFICATE')} | base64 -d > ca.pem"
    assert redact_text(text) == text
