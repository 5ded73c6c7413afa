"""Opaque, time-sortable identifiers."""

import re

from ulid import ULID

# \Z, not $: "$" would also accept a trailing newline.
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


def new_id() -> str:
    """A new ULID as a 26-character string."""
    return str(ULID())


def is_valid_id(s: object) -> bool:
    """True when s is a string the contract accepts as an id."""
    return isinstance(s, str) and ID_RE.match(s) is not None
