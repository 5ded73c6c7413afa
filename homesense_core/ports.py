"""Free TCP ports for the local processes a stage, a step or a test starts.

Not a rule of the domain, but the one piece of process plumbing every launcher shares, so it
lives once. A port handed out by bind(0) comes from the kernel's ephemeral range, where the
next outgoing connection or another test run may take it before our child binds it (seen:
NATS of one run on the port another run had picked for a service). So ports come from below
the ephemeral range (32768+ on Linux), at random, and each is reserved across processes by a
lock file for a few minutes: two concurrent runs never pick the same one.
"""
from __future__ import annotations

import os
import random
import socket
import tempfile
import time
from pathlib import Path

PORT_RANGE = (20000, 32000)
RESERVATION_S = 300.0
_ATTEMPTS = 500


def _reservations() -> Path:
    return Path(tempfile.gettempdir()) / "homesense-ports"


def _reserve(port: int) -> bool:
    """True if this process now holds port's reservation (a fresh file, or an expired one)."""
    folder = _reservations()
    folder.mkdir(exist_ok=True)
    path = folder / str(port)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        try:
            if time.time() - path.stat().st_mtime < RESERVATION_S:
                return False
            os.utime(path)  # expired: take it over (a rare race here only costs one more try)
            return True
        except OSError:
            return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on, reserved for the caller's child for RESERVATION_S seconds."""
    rng = random.SystemRandom()
    for _ in range(_ATTEMPTS):
        port = rng.randint(*PORT_RANGE)
        if not _reserve(port):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE} after {_ATTEMPTS} tries")
