"""Encryption at rest for health records (transcript text, later cue evidence and notes).

AES-256-GCM from ``cryptography``. The key comes from ``ATTUNE_DATA_KEY`` (base64 of 32 bytes) or from a
key file in the data folder, created on first start with mode 0600. A database copied without the key
reveals no transcript text.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_FILE_NAME = "attune.key"
_NONCE_BYTES = 12


class DataKeyError(RuntimeError):
    """The data key is missing or unusable; the message says what to fix."""


def load_or_create_key(data_dir: Path, env_value: str | None) -> bytes:
    if env_value:
        try:
            key = base64.b64decode(env_value, validate=True)
        except ValueError as exc:
            raise DataKeyError("ATTUNE_DATA_KEY must be base64 of 32 random bytes") from exc
        if len(key) != 32:
            raise DataKeyError("ATTUNE_DATA_KEY must decode to exactly 32 bytes")
        return key
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        key = base64.b64decode(path.read_bytes().strip())
        if len(key) != 32:
            raise DataKeyError(f"{path} does not hold a 32-byte key")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
    log.warning("created a new data key at %s: back it up; without it stored transcripts cannot be read", path)
    return key


class FieldCipher:
    """Encrypts one field value; ``context`` (e.g. the session id) is bound as associated data, so a
    ciphertext moved to another session's row fails to decrypt."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))

    def decrypt(self, blob: bytes, context: str) -> str:
        try:
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode("utf-8")).decode(
                "utf-8"
            )
        except InvalidTag as exc:
            raise DataKeyError("a stored record could not be decrypted with this data key") from exc
