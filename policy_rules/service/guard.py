"""What protects the service: the names it answers to, the pages it answers, bearer tokens for the register, and limits on one request.

Three checks stand between a web page the officer happens to open and the
register. The **Host check** answers only requests addressed to the names the
server is reached by (loopback, ``--host`` and ``--allowed-host``), so a page
that rebinds its own domain name to 127.0.0.1 is refused. The **Origin check**
refuses a request that changes something, or reads the register, when the
browser says it comes from a page of another origin (``--allow-origin`` names
the ones that may, and only those get CORS headers). **Tokens** name who holds
them, so that a recorded decision says who made it; they come from a file
(``--tokens FILE``) or the ``POLICY_RULES_TOKENS`` variable, never from the
command line where ``ps`` would show them: one ``NAME=TOKEN`` a line.
``policy-rules serve`` without tokens makes one of its own, so that no other
account on the machine reaches the register through loopback. A server that
listens beyond the loopback interface refuses to start without tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse

from policy_rules.errors import UsageError
from policy_rules.service.arguments import default_threads

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
    allowed_hosts: tuple[str, ...] = ()  # more names the server is reached by (behind a proxy)
    allowed_origins: tuple[str, ...] = ()  # web pages of other origins that may use it (CORS)
    threads: int = attrs.field(factory=default_threads)  # CPU-bound work at once (service/work.py)
    queue: int = 64  # more pieces of work that may wait for a thread before requests are answered 503
    time_limit: float = 30.0  # seconds a request's work may take before it is answered 503
    max_record: int = 4 * 1_048_576  # the most bytes one recorded decision may take in the register

    def host_names(self) -> list[str]:
        """The names a request may be addressed to: loopback's, the ``--host`` listened on, and ``--allowed-host``'s.

        A server listening on every interface (``0.0.0.0``, ``::``) is also
        reached by this machine's own name; any other address it has must be
        named with ``--allowed-host``, so that no name is trusted by accident.
        """
        names = ["127.0.0.1", "localhost", "[::1]", _bracketed(self.host)]
        if self.host in ("0.0.0.0", "::"):
            names += {socket.gethostname().lower(), socket.getfqdn().lower()}
        names += [_bracketed(name) for name in self.allowed_hosts]
        return list(dict.fromkeys(name.lower() for name in names if name))


def error_body(message: str, location: str = "") -> dict[str, Any]:
    """The one shape of every answer that is not a success."""
    return {"error": {"message": message, "location": location}}


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


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
    given_digest = hashlib.sha256(given.strip().encode("utf-8", "replace")).digest()
    found = None
    for token, name in settings.tokens.items():  # every token compared, digests of one length: the time says nothing of which matched
        if hmac.compare_digest(hashlib.sha256(token.encode()).digest(), given_digest):
            found = name
    return found


_PASSED = "policy_rules.host_checked"


class HostCheck:
    """ASGI middleware: requests addressed to a name the server is not reached by are answered 400, as JSON.

    The matching is Starlette's ``TrustedHostMiddleware`` (host header parsing,
    IPv6 literals, ``*.domain`` patterns); this wrapper only turns its plain
    text refusal into the service's error shape, naming the option that adds
    a name.
    """

    def __init__(self, app: Any, names: list[str]) -> None:
        self.app = app

        async def passed(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope[_PASSED] = True
            await app(scope, receive, send)

        self.check = TrustedHostMiddleware(passed, allowed_hosts=names, www_redirect=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def answered(message: dict[str, Any]) -> None:
            if scope.get(_PASSED):
                await send(message)
            elif message["type"] == "http.response.start":  # the library's refusal: answered in the service's words instead, its body dropped
                given = Headers(scope=scope).get("host", "")
                shown = re.sub(r"[^A-Za-z0-9.:\[\]_-]", "?", given[:200])
                words = (
                    f"this service is not reached by the name `{shown}`; if it is (behind a proxy), start it with --allowed-host NAME"
                    if given
                    else "the request names no host; send a Host header"
                )
                await JSONResponse(error_body(words, "Host"), status_code=400)(scope, receive, send)

        await self.check(scope, receive, answered)


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
#: Reads of the register: what residents' facts and the council's overrides are kept in.
_REGISTER = ("/v1/decisions", "/workbench/saves")


class OriginCheck:
    """ASGI middleware: a change, or a read of the register, asked by a web page of another origin is answered 403.

    Browsers send ``Origin`` with every cross-origin request and every POST
    (``Referer`` stands in when ``Origin`` is missing); a request whose page
    is neither this service's own origin nor one named by ``--allow-origin``
    is refused before it reaches an endpoint, so nothing is recorded or saved.
    Requests without either header (curl, scripts) are not from a browser page
    and pass to the token check.
    """

    def __init__(self, app: Any, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope["method"] not in _SAFE or scope["path"].startswith(_REGISTER)):
            headers = Headers(scope=scope)
            page = headers.get("origin") or _origin_of(headers.get("referer"))
            if page is not None and not self._own(page, headers.get("host", "")):
                shown = re.sub(r"[^A-Za-z0-9.:/\[\]_-]", "?", page[:200])
                words = f"this service takes no changes or register reads from the web page at {shown}; to let it, start the server with --allow-origin {shown}"
                await JSONResponse(error_body(words, "Origin"), status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _own(self, page: str, host: str) -> bool:
        page = page.lower()
        return page in self.allowed or (bool(host) and page in (f"http://{host.lower()}", f"https://{host.lower()}"))


def _origin_of(referer: str | None) -> str | None:
    """The origin of a ``Referer`` address, or ``"null"`` for one that has none (which no page of ours sends)."""
    if referer is None:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


class HiddenTokens(logging.Filter):
    """Keeps ``?token=`` out of the access log: the workbench's address carries the token the server made."""

    _TOKEN = re.compile(r"(?i)([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1(hidden)", item) if isinstance(item, str) else item for item in record.args)
        record.msg = self._TOKEN.sub(r"\1(hidden)", str(record.msg))
        return True


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
