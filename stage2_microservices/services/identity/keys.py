"""The RS256 signing key, created once in the data dir; a file lock lets replicas share it."""

import fcntl
import os
from pathlib import Path

from homesense_core.tokens import SigningKey

KEY_FILE = "identity-signing-key.pem"


def load_or_create_key(data_dir: Path) -> SigningKey:
    """Read the PEM in data_dir, generating it first if no replica has yet."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    with open(data_dir / f"{KEY_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.exists():
                return SigningKey.from_pem(path.read_bytes())
            key = SigningKey.generate()
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key.private_pem())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic: readers never see half a key
            return key
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
