"""Argument types of ``serve`` and ``register``, kept apart so that building the command line never imports the web stack."""

from __future__ import annotations

import argparse


def byte_count(value: str) -> int:
    """``--max-body``: a number of bytes, or of KiB or MiB with ``k`` or ``M`` after it; at least 1k."""
    text = value.strip().lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) * scale < 1024:
        raise argparse.ArgumentTypeError(f"`{value}` is not a size; give bytes (at least 1024), or a number with k or M such as 512k or 4M")
    return int(digits) * scale


def positive(value: str) -> int:
    """A whole number of at least 1 (an id, a limit)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"`{value}` is not a whole number of at least 1")
    return int(value)
