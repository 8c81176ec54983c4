"""engram_ci.sync.crypto: age sealing and opening with real keys (age X25519, SSH ed25519/RSA,
passphrase), key loading from options, files and the environment, and every way to fail."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pyrage import x25519

from engram_ci import log
from engram_ci.cli.common import add_encryption_options
from engram_ci.errors import FatalError
from engram_ci.sync import crypto
from engram_ci.sync.crypto import MANIFEST_FILE, PAYLOAD_FILE, Cipher

FILES = {
    "decisions.md": "# Decisions\n\n## Session: s-secret-1 (2025-01-01T00:00:00Z)\n\n- ünïcode\n",
    "context.md": "# Context\n\nthe plan is PLAINTEXT-MARKER\n",
}


def age_key() -> tuple[str, str]:
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


@pytest.fixture(scope="module")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    directory = tmp_path_factory.mktemp("ssh")
    keys = {}
    for name, args in {
        "ed25519": ["-t", "ed25519"],
        "rsa": ["-t", "rsa", "-b", "2048"],
        "locked": ["-t", "ed25519"],
    }.items():
        path = directory / f"id_{name}"
        secret = "hunter22" if name == "locked" else ""
        subprocess.run(
            ["ssh-keygen", *args, "-N", secret, "-C", f"{name}@test", "-f", str(path), "-q"],
            check=True,
            timeout=60,
        )
        keys[name] = path
    return keys


def test_age_round_trip_with_recipients_derived_from_the_identity() -> None:
    secret, public = age_key()
    cipher = crypto.cipher_from_options(identities=[secret], env={})
    assert cipher.recipients == (public,)
    sealed = crypto.seal_files(FILES, cipher)
    assert crypto.is_sealed(sealed)
    assert crypto.open_files(sealed, cipher) == FILES


def test_the_remote_form_is_armored_ciphertext_and_a_manifest_with_nothing_secret() -> None:
    secret, public = age_key()
    sealed = crypto.seal_files(FILES, Cipher(recipients=(public,)))
    assert set(sealed) == {MANIFEST_FILE, PAYLOAD_FILE}
    armored = sealed[PAYLOAD_FILE].splitlines()
    assert armored[0] == "-----BEGIN AGE ENCRYPTED FILE-----"
    assert armored[-1] == "-----END AGE ENCRYPTED FILE-----"
    assert all(len(line) <= 64 for line in armored[1:-1])
    everything = "\n".join(sealed.values())
    for leak in ("PLAINTEXT-MARKER", "s-secret-1", "decisions", "context.md", public, secret):
        assert leak not in everything
    manifest = json.loads(sealed[MANIFEST_FILE])
    assert manifest["format"] == "engram-encrypted" and manifest["version"] == 1
    assert manifest["key"] == "recipients" and manifest["payload"] == PAYLOAD_FILE
    assert set(manifest) == {"format", "version", "payload", "key", "recipients_digest", "note"}


def test_each_of_several_recipients_can_open(ssh_keys: dict[str, Path]) -> None:
    age_secret, age_public = age_key()
    recipients = (
        age_public,
        ssh_keys["ed25519"].with_suffix(".pub").read_text().strip(),
        ssh_keys["rsa"].with_suffix(".pub").read_text().strip(),
    )
    sealed = crypto.seal_files(FILES, Cipher(recipients=recipients))
    for identity in (age_secret, ssh_keys["ed25519"].read_text(), ssh_keys["rsa"].read_text()):
        assert crypto.open_files(sealed, Cipher(identities=(identity,))) == FILES


def test_ssh_identity_path_brings_its_public_key_as_recipient(ssh_keys: dict[str, Path]) -> None:
    cipher = crypto.cipher_from_options(identities=[str(ssh_keys["ed25519"])], env={})
    assert cipher.recipients == (ssh_keys["ed25519"].with_suffix(".pub").read_text().strip(),)
    assert crypto.open_files(crypto.seal_files(FILES, cipher), cipher) == FILES


@pytest.mark.slow
def test_passphrase_round_trip_and_wrong_passphrase() -> None:
    cipher = crypto.cipher_from_options(env={"ENGRAM_PASSPHRASE": "correct horse battery"})
    assert cipher.recipients == ()
    sealed = crypto.seal_files(FILES, cipher)
    assert json.loads(sealed[MANIFEST_FILE])["key"] == "passphrase"
    assert crypto.open_files(sealed, cipher) == FILES
    with pytest.raises(FatalError, match="wrong passphrase"):
        crypto.open_files(sealed, Cipher(passphrase="incorrect horse"))
    with pytest.raises(FatalError, match="ENGRAM_PASSPHRASE"):
        crypto.open_files(sealed, Cipher(identities=(age_key()[0],)))


def test_wrong_or_missing_key_is_one_line_naming_the_fix() -> None:
    _, public = age_key()
    sealed = crypto.seal_files(FILES, Cipher(recipients=(public,)))
    with pytest.raises(FatalError, match="none of your identities") as wrong:
        crypto.open_files(sealed, Cipher(identities=(age_key()[0],)))
    with pytest.raises(FatalError, match="--identity") as missing:
        crypto.open_files(sealed, None)
    with pytest.raises(FatalError, match="--identity"):
        crypto.open_files(sealed, Cipher(recipients=(public,)))
    for error in (wrong.value, missing.value):
        assert "\n" not in str(error)


def test_damaged_or_foreign_remotes_are_clear_errors() -> None:
    secret, public = age_key()
    cipher = Cipher(recipients=(public,), identities=(secret,))
    sealed = crypto.seal_files(FILES, cipher)
    lines = sealed[PAYLOAD_FILE].splitlines()
    # flip a character in the last full line of data: the payload (and its tag), never the
    # age header, whose damage would read as a wrong key instead
    lines[-3] = lines[-3][:10] + ("A" if lines[-3][10] != "A" else "B") + lines[-3][11:]
    with pytest.raises(FatalError, match="damaged"):
        crypto.open_files({**sealed, PAYLOAD_FILE: "\n".join(lines) + "\n"}, cipher)
    with pytest.raises(FatalError, match="missing"):
        crypto.open_files({MANIFEST_FILE: sealed[MANIFEST_FILE]}, cipher)
    with pytest.raises(FatalError, match="unreadable"):
        crypto.open_files({**sealed, MANIFEST_FILE: "{not json"}, cipher)
    newer = json.dumps({**json.loads(sealed[MANIFEST_FILE]), "version": 99})
    with pytest.raises(FatalError, match="upgrade engram-ci"):
        crypto.open_files({**sealed, MANIFEST_FILE: newer}, cipher)
    # a well-formed age file that is not our bundle
    import pyrage

    alien = pyrage.encrypt(b"hello", [x25519.Recipient.from_str(public)], armored=True)
    with pytest.raises(FatalError, match="not an engram-ci bundle"):
        crypto.open_files({**sealed, PAYLOAD_FILE: alien.decode()}, cipher)


def test_plain_remotes_pass_through_unopened() -> None:
    assert not crypto.is_sealed(FILES)
    assert crypto.open_files(FILES, None) == FILES
    assert crypto.open_files(FILES, Cipher(recipients=(age_key()[1],))) == FILES


def test_sealing_needs_recipients_or_a_passphrase() -> None:
    with pytest.raises(FatalError, match="--recipient"):
        crypto.seal_files(FILES, Cipher())


def test_sealed_for_notices_a_changed_recipient_set() -> None:
    _, alice = age_key()
    _, bob = age_key()
    sealed = crypto.seal_files(FILES, Cipher(recipients=(alice, bob)))
    assert crypto.sealed_for(sealed, Cipher(recipients=(bob, alice)))  # order does not matter
    assert not crypto.sealed_for(sealed, Cipher(recipients=(alice,)))
    assert not crypto.sealed_for(sealed, Cipher(passphrase="pw"))
    assert not crypto.sealed_for(FILES, Cipher(recipients=(alice,)))
    other = crypto.seal_files(FILES, Cipher(recipients=(alice, bob)))
    # salted: the same team's remotes can't be linked by their manifests
    assert json.loads(sealed[MANIFEST_FILE]) != json.loads(other[MANIFEST_FILE])


def test_recipients_from_env_lists_and_files(tmp_path: Path, ssh_keys: dict[str, Path]) -> None:
    _, alice = age_key()
    _, bob = age_key()
    ssh_public = ssh_keys["ed25519"].with_suffix(".pub").read_text().strip()
    team = tmp_path / "team.keys"
    team.write_text(f"# the team\n{bob}\n\n{ssh_public}\n")
    cipher = crypto.cipher_from_options(env={"ENGRAM_AGE_RECIPIENTS": f"{alice}, {team}\n{alice}"})
    assert cipher.recipients == (alice, bob, ssh_public)
    explicit = crypto.cipher_from_options(recipients=[bob], env={"ENGRAM_AGE_RECIPIENTS": alice})
    assert explicit.recipients == (bob,)  # options win over the environment


def test_identity_from_env_path_or_contents(tmp_path: Path) -> None:
    secret, public = age_key()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# created: now\n# public key: {public}\n{secret}\n")
    by_path = crypto.cipher_from_options(env={"ENGRAM_AGE_IDENTITY": str(key_file)})
    by_value = crypto.cipher_from_options(env={"ENGRAM_AGE_IDENTITY": secret})
    sealed = crypto.seal_files(FILES, Cipher(recipients=(public,)))
    assert crypto.open_files(sealed, by_path) == FILES
    assert crypto.open_files(sealed, by_value) == FILES
    assert by_path.recipients == by_value.recipients == (public,)


def test_bad_keys_are_reported_before_anything_happens(
    tmp_path: Path, ssh_keys: dict[str, Path]
) -> None:
    with pytest.raises(FatalError, match="not a valid age or SSH public key"):
        crypto.cipher_from_options(recipients=["age1notakey"], env={})
    with pytest.raises(FatalError, match="neither a public key"):
        crypto.cipher_from_options(recipients=[str(tmp_path / "missing.keys")], env={})
    with pytest.raises(FatalError, match="cannot read identity file"):
        crypto.cipher_from_options(identities=[str(tmp_path / "nope")], env={})
    with pytest.raises(FatalError, match="ssh-keygen -p"):
        crypto.cipher_from_options(identities=[str(ssh_keys["locked"])], env={})
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    with pytest.raises(FatalError, match="neither an age secret key"):
        crypto.cipher_from_options(identities=[str(garbage)], env={})


def test_secrets_are_registered_and_hidden_from_repr() -> None:
    secret, _ = age_key()
    cipher = crypto.cipher_from_options(
        identities=[secret], env={"ENGRAM_PASSPHRASE": "pass-phrase-42"}
    )
    assert secret in log.registered_secrets()
    assert "pass-phrase-42" in log.registered_secrets()
    assert secret not in repr(cipher) and "pass-phrase-42" not in repr(cipher)
    assert log.mask(f"key {secret}") == f"key {log.MASK}"


def test_cli_options() -> None:
    parser = argparse.ArgumentParser()
    add_encryption_options(parser)

    def chosen(*argv: str) -> crypto.Encryption:
        return crypto.encryption_from_args(parser.parse_args(argv), pulling=False)

    assert chosen().cipher is None
    _, public = age_key()
    assert chosen("--recipient", public).cipher == Cipher(recipients=(public,))
    with pytest.raises(FatalError, match="--recipient"):
        chosen("--encrypt")


# -- the encryption policy the CLI and the Action share ----------------------------------------


def test_policy_a_pull_decrypts_with_env_keys_alone() -> None:
    chosen = crypto.encryption_for(pulling=True, env={"ENGRAM_PASSPHRASE": "pass phrase"})
    assert chosen.cipher is not None and chosen.cipher.passphrase == "pass phrase"
    assert not chosen.encrypt  # a pull never seals
    assert crypto.encryption_for(pulling=True, env={}) == crypto.Encryption()


def test_policy_a_push_encrypts_only_when_asked_or_given_keys_explicitly() -> None:
    env = {"ENGRAM_PASSPHRASE": "pass phrase"}
    only_env = crypto.encryption_for(pulling=False, env=env)
    assert only_env.cipher is not None and not only_env.encrypt  # keeps sealed stores sealed
    assert crypto.encryption_for(pulling=False, encrypt=True, env=env).encrypt
    _, public = age_key()
    assert crypto.encryption_for(pulling=False, recipients=[public], env={}).encrypt
    assert crypto.encryption_for(pulling=False, env={}) == crypto.Encryption()


def test_policy_asking_without_a_usable_key_names_what_is_missing() -> None:
    with pytest.raises(FatalError, match="encrypting needs a key"):
        crypto.encryption_for(pulling=False, encrypt=True, env={})
    _, public = age_key()
    with pytest.raises(FatalError, match="decrypting needs a key"):
        crypto.encryption_for(pulling=True, encrypt=True, recipients=[public], env={})
