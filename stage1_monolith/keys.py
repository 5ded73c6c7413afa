"""The token signing key: generated once, kept as a private PEM file (mode 600) in the data dir."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from homesense_core.tokens import SigningKey

from stage1_monolith.settings import SettingsError


def check_key_file(path: Path) -> bool:
    """True if a key file exists; SettingsError if others could read it."""
    if not path.exists():
        return False
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Fail fast rather than sign tokens with a key others can read.
        raise SettingsError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return True


def load_or_create_signing_key(path: Path) -> SigningKey:
    """Load the key at path, or create it there atomically on first start."""
    if check_key_file(path):
        return SigningKey.from_pem(path.read_bytes())
    key = SigningKey.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.private_pem())
            f.flush()
            os.fsync(f.fileno())
        # link, not rename: if two processes race, the first key wins and both use it.
        try:
            os.link(tmp, path)
        except FileExistsError:
            return SigningKey.from_pem(path.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return key
