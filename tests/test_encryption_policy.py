"""The encryption policy both faces share (crypto.encryption_for), worded per face."""

from __future__ import annotations

import pytest
from pyrage import x25519

from engram_ci.errors import FatalError
from engram_ci.sync.crypto import Cipher, encryption_for


def cipher_for(**options: object) -> Cipher | None:
    return encryption_for(**options).cipher  # type: ignore[arg-type]


def test_plain_unless_asked() -> None:
    assert cipher_for(pulling=False, env={}) is None
    assert cipher_for(pulling=True, env={}) is None


def test_a_passphrase_in_the_environment_is_enough_to_pull_but_never_turns_on_a_push() -> None:
    env = {"ENGRAM_PASSPHRASE": "correct horse"}
    pulled = cipher_for(pulling=True, env=env)
    assert pulled is not None and pulled.passphrase == "correct horse"
    keeps = encryption_for(pulling=False, env=env)  # a key at hand, but no sealing asked
    assert keeps.encrypt is False
    pushed = cipher_for(pulling=False, encrypt=True, env=env)
    assert pushed is not None and pushed.passphrase == "correct horse"


def test_a_named_identity_encrypts_to_its_own_public_key() -> None:
    key = x25519.Identity.generate()
    cipher = cipher_for(pulling=False, identities=[str(key)], env={})
    assert cipher is not None
    assert cipher.recipients == (str(key.to_public()),)


def test_asking_without_keys_names_the_missing_setting_per_face() -> None:
    with pytest.raises(FatalError) as pushing:
        cipher_for(pulling=False, encrypt=True, env={})
    assert "--recipient KEY" in str(pushing.value)
    assert "the `recipients` input" in pushing.value.worded("action")
    with pytest.raises(FatalError) as pulling:
        cipher_for(pulling=True, encrypt=True, env={})
    assert pulling.value.title == "missing identity"
    assert "the `identity` input" in pulling.value.worded("action")
