"""Pseudonymous keys: keyed hashes of patient IDs and series UIDs.

``patient_key = HMAC-SHA256(secret, "patient:" + PatientID)`` and
``scan_key = HMAC-SHA256(secret, "series:" + SeriesInstanceUID)``, hex digests cut to 16
characters (64 bits: collision-free for any registry). The secret is 32 random bytes kept in
``WORKSPACE/private/key``; without it a key cannot be linked back to an identifier, and a new
workspace gives new keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = ["KEY_FILE", "PRIVATE_DIR", "Keyer", "load_or_create_secret"]

PRIVATE_DIR = "private"
KEY_FILE = "key"
_KEY_LENGTH = 16


def load_or_create_secret(workspace: str | Path) -> bytes:
    """The workspace's secret, created (mode 0600) on first use."""
    path = Path(workspace) / PRIVATE_DIR / KEY_FILE
    if path.is_file():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    secret = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret.hex())
    return secret


class Keyer:
    """Makes the keyed hashes of one workspace."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_workspace(cls, workspace: str | Path) -> Keyer:
        """The keyer of ``workspace`` (its secret is created when missing)."""
        return cls(load_or_create_secret(workspace))

    def _hash(self, kind: str, value: str) -> str:
        digest = hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return digest[:_KEY_LENGTH]

    def patient_key(self, patient_id: str) -> str:
        """Pseudonymous key of a patient ID."""
        return self._hash("patient", str(patient_id))

    def scan_key(self, series_instance_uid: str) -> str:
        """Pseudonymous key of a series (one scan = one image series)."""
        return self._hash("series", str(series_instance_uid))

    def study_key(self, study_instance_uid: str) -> str:
        """Pseudonymous key of a study (to group a PET with its own low-dose CT)."""
        return self._hash("study", str(study_instance_uid))
