"""Identifiers that sort by creation time, so new rows land at the right edge of b-tree indexes."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """Return a 32-hex-digit id: 48 bits of Unix milliseconds, then 80 random bits.

    Time-ordered ids keep bulk inserts append-mostly on both engines, which random UUIDs
    do not; the random tail keeps ids made in the same millisecond unique.
    """
    millis = time.time_ns() // 1_000_000
    return f"{millis:012x}{os.urandom(10).hex()}"
