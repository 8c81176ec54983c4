"""Policies both faces share, so the CLI and the Action never disagree on them.

- `cipher_for`: when a sync encrypts or decrypts. A push encrypts when asked to or when keys
  are named; a pull decrypts whenever anything can: an identity or a passphrase, given as an
  option or in the environment (ENGRAM_AGE_IDENTITY / ENGRAM_PASSPHRASE). So ENGRAM_PASSPHRASE
  alone is enough to pull an encrypted remote, from `engram sync pull` and from the Action.
- `gist_to_pull`: the gist a pull reads when none is named: the one memory remembers for the
  project, else the token owner's newest gist holding it, else None (nothing pushed yet).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from engram_ci.errors import FatalError, Fix
from engram_ci.sync.crypto import Cipher, cipher_from_options

__all__ = ["cipher_for", "gist_to_pull"]

log = logging.getLogger("engram_ci")


def cipher_for(
    *,
    pulling: bool,
    encrypt: bool = False,
    recipients: Sequence[str] = (),
    identities: Sequence[str] = (),
    passphrase: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Cipher | None:
    """The Cipher a sync uses, or None for plain text (see the module docstring)."""
    env = os.environ if env is None else env
    can_decrypt = bool(
        identities or passphrase or env.get("ENGRAM_PASSPHRASE") or env.get("ENGRAM_AGE_IDENTITY")
    )
    if not (encrypt or recipients or identities or (pulling and can_decrypt)):
        return None
    cipher = cipher_from_options(
        recipients=recipients, identities=identities, passphrase=passphrase, env=env
    )
    if pulling and not (cipher.identities or cipher.passphrase):
        raise FatalError(
            "encryption is on, but nothing can decrypt what this pull reads",
            title="missing identity",
            fix=Fix(
                "give an age or SSH private key with {option}, or set ENGRAM_PASSPHRASE",
                flag="--identity FILE",
                input="identity",
                env="ENGRAM_AGE_IDENTITY",
            ),
        )
    if not pulling and not (cipher.recipients or cipher.passphrase):
        raise FatalError(
            "encryption is on, but there is nothing to encrypt to",
            title="missing recipients",
            fix=Fix(
                "name age or SSH public keys with {option}, give an identity (its public key "
                "is used), or set ENGRAM_PASSPHRASE",
                flag="--recipient KEY",
                input="recipients",
                env="ENGRAM_AGE_RECIPIENTS",
            ),
        )
    return cipher


def gist_to_pull(
    memory_dir: Path, project: str, *, token: str | None = None, api_url: str | None = None
) -> str | None:
    """The gist a pull without an id reads, or None when the project has none yet."""
    from engram_ci.sync import gistsync  # PyGithub loads only when a gist is looked up

    remembered = gistsync.remembered_gist(memory_dir, project)
    if remembered:
        return remembered
    found = gistsync.list_gists(project, token=token, api_url=api_url)
    if not found:
        return None
    log.info("pulling gist %s, the newest holding %s", found[0].id, project)
    return found[0].id
