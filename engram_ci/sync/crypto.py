"""End-to-end encryption of what leaves the machine, with age (pyrage).

Sync backends call `seal_files` on the file set just before upload and `open_files` on what
they download, so merging always happens on plaintext, locally: decrypt, merge, encrypt.

What the remote holds (a decision, see SECURITY.md):
- `knowledge.age`: ONE ASCII-armored age file with every knowledge file inside (a JSON
  bundle). One bundle rather than a file per category, because it leaks neither which
  categories exist nor their sizes, and a passphrase costs one scrypt per sync, not one per
  file. The cost: any change re-uploads the bundle; sync compares plaintext, so an unchanged
  bundle is never re-sealed (age output is randomised, ciphertext can't be compared).
- `engram-encrypted.json`: a plaintext manifest with nothing secret in it (format, version,
  the payload's name, which kind of key opens it, and a salted digest of the recipient set so
  a push notices when the team's keys changed). No project name, no key fingerprints.

Keys: recipients are age X25519 public keys (`age1...`) and SSH public keys (`ssh-ed25519`,
`ssh-rsa`), or files listing them one per line (a team's authorized_keys). Identities are age
identity files or unencrypted SSH private keys. A passphrase uses age's scrypt recipient.
Every secret learnt here is registered with log.register_secret before anything can print it.

pyrage is imported where it is used: `engram sync ... --help`, the option parsing and syncs
that never encrypt don't load it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_ci import log
from engram_ci.errors import FatalError, Fix

__all__ = [
    "MANIFEST_FILE",
    "PAYLOAD_FILE",
    "Cipher",
    "Encryption",
    "cipher_from_options",
    "encryption_for",
    "encryption_from_args",
    "is_sealed",
    "open_files",
    "seal_files",
    "sealed_for",
]

MANIFEST_FILE = "engram-encrypted.json"
PAYLOAD_FILE = "knowledge.age"
FORMAT = "engram-encrypted"
VERSION = 1
_BUNDLE_FORMAT = "engram-knowledge-bundle"
#: how to open an encrypted store, in the words of each face
NEEDS_KEY = Fix(
    "decrypt it with a key given by {option}, or set ENGRAM_PASSPHRASE",
    flag="--identity FILE",
    input="identity",
    env="ENGRAM_AGE_IDENTITY",
)


@dataclass(frozen=True)
class Cipher:
    recipients: tuple[str, ...] = ()  # age X25519 public keys and SSH public keys
    # age secret keys / SSH private keys (their text, not paths), for decryption
    identities: tuple[str, ...] = field(default=(), repr=False)
    passphrase: str | None = field(default=None, repr=False)


# -- the remote form -----------------------------------------------------------------------


def is_sealed(remote: Mapping[str, str]) -> bool:
    """True when the remote file set was written by seal_files."""
    return MANIFEST_FILE in remote


def seal_files(files: Mapping[str, str], cipher: Cipher) -> dict[str, str]:
    """Plain file set -> remote file set (ciphertext + a minimal plaintext manifest).

    Encrypts to the cipher's recipients when it has any, else with its passphrase.
    """
    import pyrage
    from pyrage import passphrase as age_passphrase

    bundle = json.dumps(
        {"format": _BUNDLE_FORMAT, "files": dict(sorted(files.items()))},
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")
    manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "payload": PAYLOAD_FILE}
    if cipher.recipients:
        armored = pyrage.encrypt(bundle, _recipients(cipher.recipients), armored=True)
        manifest["key"] = "recipients"
        manifest["recipients_digest"] = recipients_digest(cipher.recipients)
    elif cipher.passphrase:
        log.register_secret(cipher.passphrase)
        armored = age_passphrase.encrypt(bundle, cipher.passphrase, armored=True)
        manifest["key"] = "passphrase"
    else:
        raise FatalError(
            "nothing to encrypt to",
            title="no encryption key",
            fix=Fix(
                "name age or SSH public keys with {option}, or set a passphrase",
                flag="--recipient KEY",
                input="recipients",
                env="ENGRAM_AGE_RECIPIENTS",
            ),
        )
    manifest["note"] = "Encrypted with age (https://age-encryption.org) by engram-ci."
    return {
        MANIFEST_FILE: json.dumps(manifest, indent=2, sort_keys=True) + "\n",
        PAYLOAD_FILE: armored.decode("ascii"),
    }


def open_files(
    remote: Mapping[str, str], cipher: Cipher | None, *, source: str = "the remote"
) -> dict[str, str]:
    """Remote file set -> plain file set. A wrong or missing key raises FatalError.

    A remote that was never sealed comes back as it is, so a backend can call this on
    everything it reads; without a cipher a sealed remote is an error naming the fix.
    Everything is decrypted in memory: nothing local is touched before this returns.
    """
    if not is_sealed(remote):
        return dict(remote)
    manifest = _manifest(remote, source)
    if cipher is None:
        raise FatalError(f"{source} is encrypted", title="encrypted remote", fix=NEEDS_KEY)
    payload = remote.get(PAYLOAD_FILE)
    if not payload:
        raise FatalError(
            f"{source} is encrypted but its {PAYLOAD_FILE} is missing: push again from a "
            "machine that has the knowledge",
            title="encrypted payload missing",
        )
    bundle = _decrypt(payload.encode("utf-8"), manifest["key"], cipher, source)
    return _unbundle(bundle, source)


def recipients_digest(recipients: Iterable[str], salt: str | None = None) -> str:
    """`salt:sha256` of the recipient set: detects a changed set, links nothing across remotes."""
    salt = salt or secrets.token_hex(8)
    keys = sorted({_normalized_recipient(r) for r in recipients})
    digest = hashlib.sha256((salt + "\n" + "\n".join(keys)).encode()).hexdigest()
    return f"{salt}:{digest}"


def sealed_for(remote: Mapping[str, str], cipher: Cipher) -> bool:
    """True when `remote` is sealed the way `cipher` would seal it now (same key kind/set).

    A push whose plaintext is unchanged must still re-seal when the team's keys changed,
    or a new member could never read it.
    """
    if not is_sealed(remote):
        return False
    manifest = _manifest(remote, "the remote")
    if cipher.recipients:
        stored = str(manifest.get("recipients_digest", ""))
        salt = stored.split(":", 1)[0]
        return manifest["key"] == "recipients" and stored == recipients_digest(
            cipher.recipients, salt
        )
    return manifest["key"] == "passphrase" and bool(cipher.passphrase)


def _manifest(remote: Mapping[str, str], source: str) -> dict[str, Any]:
    try:
        manifest = json.loads(remote[MANIFEST_FILE])
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FatalError(
            f"{source} has an unreadable {MANIFEST_FILE}: restore it from the remote's history",
            title="bad encryption manifest",
        )
    if manifest.get("version") != VERSION or manifest.get("key") not in (
        "recipients",
        "passphrase",
    ):
        raise FatalError(
            f"{source} was encrypted by a newer engram-ci (format version "
            f"{manifest.get('version')}): upgrade engram-ci",
            title="unknown encryption format",
        )
    return manifest


def _decrypt(payload: bytes, key_kind: str, cipher: Cipher, source: str) -> bytes:
    import pyrage
    from pyrage import passphrase as age_passphrase

    if key_kind == "passphrase":
        if not cipher.passphrase:
            raise FatalError(
                f"{source} is encrypted with a passphrase: set ENGRAM_PASSPHRASE",
                title="passphrase needed",
            )
        log.register_secret(cipher.passphrase)
        try:
            return bytes(age_passphrase.decrypt(payload, cipher.passphrase))
        except pyrage.DecryptError:
            raise FatalError(
                f"cannot decrypt {source}: wrong passphrase (check ENGRAM_PASSPHRASE)",
                title="wrong passphrase",
            ) from None
    if not cipher.identities:
        raise FatalError(
            f"{source} is encrypted to age/SSH keys",
            title="identity needed",
            fix=Fix(
                "give one of those private keys with {option}",
                flag="--identity FILE",
                input="identity",
                env="ENGRAM_AGE_IDENTITY",
            ),
        )
    try:
        return bytes(pyrage.decrypt(payload, _identities(cipher.identities)))
    except pyrage.DecryptError as error:
        if "no matching keys" in str(error).lower():
            raise FatalError(
                f"cannot decrypt {source}: none of your identities is one of its recipients",
                title="wrong key",
                fix=Fix(
                    "give a matching key with {option}, or ask a recipient to add your public "
                    "key and push again",
                    flag="--identity FILE",
                    input="identity",
                ),
            ) from None
        raise FatalError(
            f"cannot decrypt {source}: the ciphertext is damaged ({error}); restore an "
            "earlier version of the remote",
            title="damaged ciphertext",
        ) from None


def _unbundle(bundle: bytes, source: str) -> dict[str, str]:
    try:
        data = json.loads(bundle.decode("utf-8"))
    except ValueError:
        data = None
    files = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(files, dict)
        or data.get("format") != _BUNDLE_FORMAT
        or not all(isinstance(n, str) and isinstance(t, str) for n, t in files.items())
    ):
        raise FatalError(
            f"{source} decrypted, but its content is not an engram-ci bundle: restore an "
            "earlier version of the remote",
            title="bad encrypted bundle",
        )
    return dict(files)


# -- keys --------------------------------------------------------------------------------


def _normalized_recipient(recipient: str) -> str:
    """`ssh-ed25519 AAAA... comment` -> `ssh-ed25519 AAAA...`; age keys unchanged."""
    parts = recipient.split()
    return " ".join(parts[:2]) if parts and parts[0].startswith("ssh-") else recipient.strip()


def _recipients(values: Sequence[str]) -> list[Any]:
    import pyrage
    from pyrage import ssh as age_ssh
    from pyrage import x25519 as age_x25519

    parsed: list[Any] = []
    for value in values:
        key = _normalized_recipient(value)
        try:
            if key.startswith("age1"):
                parsed.append(age_x25519.Recipient.from_str(key))
            elif key.startswith("ssh-"):
                parsed.append(age_ssh.Recipient.from_str(key))
            else:
                raise pyrage.RecipientError("unknown key type")
        except pyrage.RecipientError as error:
            raise FatalError(
                f"recipient {_shorten(key)} is not a valid age or SSH public key ({error}): "
                "use an `age1...` key from age-keygen or an `ssh-ed25519`/`ssh-rsa` line",
                title="bad recipient",
            ) from None
    return parsed


def _identities(values: Sequence[str]) -> list[Any]:
    import pyrage
    from pyrage import ssh as age_ssh
    from pyrage import x25519 as age_x25519

    parsed: list[Any] = []
    for value in values:
        log.register_secret(value.strip())
        text = value.strip()
        if "PRIVATE KEY-----" in text:
            try:
                parsed.append(age_ssh.Identity.from_buffer(text.encode() + b"\n"))
            except pyrage.IdentityError as error:
                raise FatalError(
                    f"cannot use the SSH private key as an identity ({error}): an encrypted "
                    "key needs `ssh-keygen -p` to a copy without a passphrase, or use an age key",
                    title="bad identity",
                ) from None
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            log.register_secret(line)
            try:
                parsed.append(age_x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise FatalError(
                    "an identity is neither an age secret key (AGE-SECRET-KEY-1...) nor an "
                    "unencrypted SSH private key: check --identity / ENGRAM_AGE_IDENTITY",
                    title="bad identity",
                ) from None
    return parsed


def _shorten(key: str) -> str:
    return key if len(key) <= 24 else key[:20] + "..."


def _split_list(value: str) -> list[str]:
    """Comma- or newline-separated (SSH keys contain spaces, so never split on those)."""
    return [part.strip() for line in value.splitlines() for part in line.split(",") if part.strip()]


def _expand_recipients(values: Iterable[str]) -> tuple[str, ...]:
    """Keys as given, or files listing keys one per line (comments and blanks skipped)."""
    keys: list[str] = []
    for value in values:
        if value.startswith(("age1", "ssh-")):
            keys.append(value)
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise FatalError(
                f"recipient {_shorten(value)} is neither a public key (age1..., ssh-...) nor a "
                "readable file of keys: check --recipient / ENGRAM_AGE_RECIPIENTS",
                title="bad recipient",
            )
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        keys += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    _recipients(keys)  # validate now: a typo is reported before anything is read or sent
    return tuple(dict.fromkeys(keys))


def _read_identity(value: str) -> tuple[str, str | None]:
    """(identity text, a public key derived or found beside it) from a path or the key itself."""
    from pyrage import x25519 as age_x25519

    if value.lstrip().startswith(("AGE-SECRET-KEY-", "-----BEGIN")):
        text, pub_file = value, None  # CI secrets usually hold the key itself, not a path
    else:
        path = Path(value).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise FatalError(
                f"cannot read identity file {path} ({error.strerror}): check --identity / "
                "ENGRAM_AGE_IDENTITY",
                title="identity unreadable",
            ) from None
        pub_file = Path(f"{path}.pub")
    log.register_secret(text.strip())
    for identity in _identities([text]):
        if isinstance(identity, age_x25519.Identity):
            return text, str(identity.to_public())
    if pub_file is not None and pub_file.is_file():  # ~/.ssh/id_ed25519 -> id_ed25519.pub
        return text, pub_file.read_text(encoding="utf-8").strip()
    return text, None


def cipher_from_options(
    *,
    recipients: Sequence[str] = (),
    identities: Sequence[str] = (),
    passphrase: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Cipher:
    """A Cipher from options, completed from ENGRAM_AGE_RECIPIENTS / _IDENTITY / PASSPHRASE.

    Options win over the environment. Without explicit recipients and passphrase, a push
    encrypts to the public halves of the identities: one person with one key needs nothing else.
    """
    env = os.environ if env is None else env
    passphrase = passphrase or env.get("ENGRAM_PASSPHRASE") or None
    log.register_secret(passphrase)
    recipient_values = list(recipients) or _split_list(env.get("ENGRAM_AGE_RECIPIENTS", ""))
    identity_values = list(identities) or _split_identities(env.get("ENGRAM_AGE_IDENTITY", ""))
    texts: list[str] = []
    derived: list[str] = []
    for value in identity_values:
        text, public = _read_identity(value)
        texts.append(text)
        if public:
            derived.append(public)
    keys = _expand_recipients(recipient_values)
    if not keys and not passphrase:
        keys = tuple(dict.fromkeys(derived))
    return Cipher(recipients=keys, identities=tuple(texts), passphrase=passphrase)


def _split_identities(value: str) -> list[str]:
    """ENGRAM_AGE_IDENTITY: a path (or several, comma/newline separated) or a key itself."""
    if value.lstrip().startswith(("AGE-SECRET-KEY-", "-----BEGIN")):
        return [value]
    return _split_list(value)


@dataclass(frozen=True)
class Encryption:
    """cipher: the keys at hand (to open a sealed store); encrypt: seal what is uploaded.
    A store that is already sealed stays sealed whenever the cipher can seal."""

    cipher: Cipher | None = None
    encrypt: bool = False

    @classmethod
    def of(cls, cipher: Cipher | None, encrypt: bool | None = None) -> Encryption:
        return cls(cipher, cipher is not None if encrypt is None else encrypt)


_KEY_ENV = ("ENGRAM_PASSPHRASE", "ENGRAM_AGE_IDENTITY", "ENGRAM_AGE_RECIPIENTS")


def encryption_for(
    *,
    pulling: bool,
    encrypt: bool = False,
    recipients: Sequence[str] = (),
    identities: Sequence[str] = (),
    passphrase: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Encryption:
    """THE encryption policy, shared by the CLI and the Action.

    - Keys come from the options, else ENGRAM_AGE_RECIPIENTS / _IDENTITY / ENGRAM_PASSPHRASE.
    - A pull decrypts whenever a key is at hand: ENGRAM_PASSPHRASE (or an identity) is enough,
      no --encrypt needed.
    - A push encrypts when asked (--encrypt, `encrypt: true`) or when recipients or identities
      are given explicitly; keys from the environment alone do not turn encryption on, but a
      store that is already encrypted stays encrypted (never overwritten with plaintext).
    - Asking to encrypt without a usable key is a one-line error naming what is missing.
    """
    env = os.environ if env is None else env
    explicit = bool(recipients or identities)
    in_env = any((env.get(name) or "").strip() for name in _KEY_ENV)
    if not (encrypt or explicit or passphrase or in_env):
        return Encryption()
    cipher = cipher_from_options(
        recipients=recipients, identities=identities, passphrase=passphrase, env=env
    )
    if pulling:
        if encrypt and not (cipher.identities or cipher.passphrase):
            raise FatalError(
                "decrypting needs a key",
                title="missing identity",
                fix=Fix(
                    "give an age or SSH private key with {option}, or set a passphrase",
                    flag="--identity FILE",
                    input="identity",
                    env="ENGRAM_AGE_IDENTITY",
                ),
            )
        return Encryption(cipher, False)
    sealing = encrypt or explicit
    if sealing and not (cipher.recipients or cipher.passphrase):
        raise FatalError(
            "encrypting needs a key",
            title="missing recipients",
            fix=Fix(
                "name age or SSH public keys with {option}, give an age identity, or set a "
                "passphrase (ENGRAM_PASSPHRASE)",
                flag="--recipient KEY",
                input="recipients",
                env="ENGRAM_AGE_RECIPIENTS",
            ),
        )
    return Encryption(cipher, sealing)


def encryption_from_args(args: argparse.Namespace, *, pulling: bool) -> Encryption:
    """encryption_for with a sync command's --encrypt / --recipient / --identity."""
    return encryption_for(
        pulling=pulling,
        encrypt=bool(getattr(args, "encrypt", False)),
        recipients=list(getattr(args, "recipient", None) or []),
        identities=list(getattr(args, "identity", None) or []),
    )
