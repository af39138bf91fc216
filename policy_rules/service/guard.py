"""What protects the service: bearer tokens for the register, and limits on what one request may ask.

Tokens name who holds them, so that a recorded decision says who made it. They
come from a file (``--tokens FILE``) or the ``POLICY_RULES_TOKENS`` variable,
never from the command line where ``ps`` would show them: one ``NAME=TOKEN`` a
line. A server that listens beyond the loopback interface refuses to start
without them; on loopback without tokens, records say ``local``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any

import attrs
from starlette.exceptions import HTTPException

from policy_rules.errors import UsageError

TOKENS_VARIABLE = "POLICY_RULES_TOKENS"
#: Who records when the server needs no token (loopback only).
LOCAL = "local"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.~+/=-]{16,512}$")


@attrs.frozen
class Settings:
    """How a service runs: where it listens, the tokens it accepts and the limits of one request."""

    host: str = "127.0.0.1"
    port: int = 8000
    tokens: Mapping[str, str] = attrs.field(factory=dict)  # token -> name of who holds it
    max_body: int = 1_048_576
    max_batch: int = 1000


def read_tokens(text: str, where: str) -> dict[str, str]:
    """Tokens from ``NAME=TOKEN`` lines (blank lines and ``#`` comments allowed): token -> name."""
    tokens: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, token = line.partition("=")
        name, token = name.strip(), token.strip()
        place = f"{where}:{number}"
        if not sep or not _NAME.match(name):
            raise UsageError("each line gives NAME=TOKEN, the name made of letters, digits and . _ @ -", place)
        if not _TOKEN.match(token):
            raise UsageError(f"the token of {name} must be 16 to 512 characters of letters, digits and - . _ ~ + / =", place)
        if token in tokens:
            raise UsageError(f"{name} has the same token as {tokens[token]}; give each holder a token of their own", place)
        tokens[token] = name
    return tokens


def tokens_from(path: str | None, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The tokens of ``--tokens FILE``, else of the ``POLICY_RULES_TOKENS`` variable, else none."""
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(1_000_000)
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read the tokens file ({getattr(error, 'strerror', None) or error})", path) from None
        found = read_tokens(text, path)
        if not found:
            raise UsageError("the tokens file gives no token", path)
        return found
    return read_tokens(environ.get(TOKENS_VARIABLE, ""), TOKENS_VARIABLE)


def loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond loopback without tokens: the register would be open to the network."""
    if not loopback(settings.host) and not settings.tokens:
        raise UsageError(
            f"listening on {settings.host} opens the service beyond this machine; give tokens with --tokens FILE or {TOKENS_VARIABLE} (lines NAME=TOKEN)",
            "--host",
        )


def holder(settings: Settings, authorization: str | None) -> str | None:
    """Who the ``Authorization`` header names: the token's holder, ``local`` when no token is needed, ``None`` when refused."""
    if not settings.tokens:
        return LOCAL
    if not authorization:
        return None
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    given_bytes = given.strip().encode("utf-8", "replace")
    found = None
    for token, name in settings.tokens.items():
        if hmac.compare_digest(token.encode(), given_bytes):
            found = name
    return found


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 before (or while) it is read.

    Written as plain ASGI rather than a Starlette ``BaseHTTPMiddleware``, which
    would add a task and a copy of every response to each request. A body sent
    without a length (chunked) is counted as it arrives; going over raises an
    ``HTTPException`` of 413, which the application answers like any other error.
    """

    def __init__(self, app: Any, limit: int, refuse: Any) -> None:
        self.app = app
        self.limit = limit
        self.refuse = refuse

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await self.refuse(scope, receive, send, self.limit)
                return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> str:
    return f"the request body is larger than this service accepts ({limit:,} bytes); send fewer services or smaller facts"
