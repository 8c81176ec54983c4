"""STUB — owned by the security helper. End-to-end encryption of what leaves the machine.

Sync backends call `seal_files` on the file set just before upload and `open_files` on what
they download, so merging always happens on plaintext, locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Cipher:
    recipients: tuple[str, ...] = ()  # age X25519 public keys and SSH public keys
    identities: tuple[str, ...] = ()  # age secret keys / SSH private keys, for decryption
    passphrase: str | None = None


def seal_files(files: Mapping[str, str], cipher: Cipher) -> dict[str, str]:
    """Plain file set -> remote file set (ciphertext + a minimal plaintext manifest)."""
    raise NotImplementedError


def open_files(remote: Mapping[str, str], cipher: Cipher) -> dict[str, str]:
    """Remote file set -> plain file set. A wrong or missing key raises FatalError."""
    raise NotImplementedError


def is_sealed(remote: Mapping[str, str]) -> bool:
    """True when the remote file set was written by seal_files."""
    raise NotImplementedError
