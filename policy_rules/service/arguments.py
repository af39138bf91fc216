"""Argument types of ``serve`` and ``register``, kept apart so that building the command line never imports the web stack."""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
from urllib.parse import urlsplit


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


def count(value: str) -> int:
    """A whole number of at least 0 (how many may wait)."""
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"`{value}` is not a whole number of at least 0")
    return int(value)


def seconds(value: str) -> float:
    """``--time-limit``: a number of seconds above 0, at most a day."""
    try:
        found = float(value)
    except ValueError:
        found = math.nan
    if not 0 < found <= 86_400:
        raise argparse.ArgumentTypeError(f"`{value}` is not a number of seconds; give one above 0, such as 30 or 2.5")
    return found


def default_threads() -> int:
    """One thread of work per core this process may use, at least one and at most four (more would only queue on the interpreter's lock)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores))


def host_name(value: str) -> str:
    """``--allowed-host``: a host name or address, without scheme, port or path."""
    text = value.strip().lower()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if not re.fullmatch(r"(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?", text):
        raise argparse.ArgumentTypeError(f"`{value}` is not a host name; give a name such as decisions.example.org or an address, without http:// or a port")
    return text


def origin(value: str) -> str:
    """``--allow-origin``: a web origin, ``scheme://host[:port]`` with nothing after it."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise argparse.ArgumentTypeError(
            f"`{value}` is not an origin; give the scheme, host and port of the web page, such as https://intranet.example.org:8443"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"
