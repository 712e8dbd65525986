"""The default key-encryption key: 32 random bytes, base64, in a file under the deployment's
data directory (``data/keys/master.key``), readable by its owner only. Generated on first
use in development and test (two processes starting at once agree on one key: the file
appears atomically, and the loser reads the winner's); outside them it must be provisioned.

Data keys are wrapped with AES-256-GCM under this key, their participant and key id as
associated data, so a wrapped key copied to another row does not unwrap."""

import base64
import hashlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import MasterKeyMissing

NONCE_BYTES = 12


class MasterKeyFile:
    def __init__(self, material: bytes):
        if len(material) != 32:
            raise ValueError("the master key must be 32 bytes (AES-256)")
        self._aead = AESGCM(material)
        self._key_id = "kek-" + hashlib.sha256(b"continuum.kek\x00" + material).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        """Names the master key without revealing it (stored beside each wrapped key)."""
        return self._key_id

    @classmethod
    def load(cls, path: Path, *, generate: bool) -> "MasterKeyFile":
        if not path.exists():
            if not generate:
                raise MasterKeyMissing(
                    f"no master key at {path}: provision one (32 random bytes, base64, mode 0600) "
                    "or set CONTINUUM_PRIVACY_MASTER_KEY_FILE; it is generated only in development and test")
            _create_once(path)
        elif not generate and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyMissing(f"the master key {path} is readable by others: chmod 600 it")
        return cls(base64.b64decode(path.read_text().strip(), validate=True))

    def wrap(self, data_key: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, associated_data)

    def unwrap(self, wrapped: bytes, associated_data: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], associated_data)


def _create_once(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: ``link`` fails
    when another process got there first, and then its key is the key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, base64.b64encode(os.urandom(32)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
