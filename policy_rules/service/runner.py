"""``policy-rules serve``: load the policy, open the register, and run the application under uvicorn.

Everything that can be wrong with the arguments (rules that do not check, a
register that cannot be opened, a host beyond loopback without tokens) is
found before the server starts listening, and reported as any command's
error is. uvicorn handles Ctrl-C and SIGTERM itself: requests in flight are
finished, then the server stops.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from policy_rules.errors import UsageError
from policy_rules.safety.escape import for_terminal


def serve(args: Any) -> int:
    import uvicorn

    from policy_rules.api import load_policy
    from policy_rules.service.app import create_app
    from policy_rules.service.guard import HiddenTokens, Settings, check_exposure, tokens_from
    from policy_rules.store import DecisionRegister
    from policy_rules.workbench.saving import check_paths

    if not 0 < args.port < 65536:
        raise UsageError(f"{args.port} is not a port; give a number from 1 to 65535", "--port")
    settings = Settings(
        host=args.host,
        port=args.port,
        tokens=tokens_from(args.tokens),
        max_body=args.max_body,
        max_batch=args.max_batch,
        allowed_hosts=tuple(args.allowed_host),
        allowed_origins=tuple(args.allow_origin),
        threads=args.threads,
        queue=args.queue,
        time_limit=args.time_limit,
        max_record=args.max_record,
    )
    check_exposure(settings)
    policy = load_policy(args.rules)
    editing = check_paths([args.rules]) if args.allow_editing else None
    opened = ""
    if not settings.tokens:
        settings, opened = with_own_token(settings)
    register = DecisionRegister(args.db)
    app = create_app(policy, register, settings, editing=editing)
    listening = _bind(args.host, args.port)
    print(
        for_terminal(
            f"serving {policy.info.name!r} (version {policy.info.version}) on http://{_host(args.host)}:{args.port}; "
            f"register: {register.shown}; OpenAPI: /openapi.json; "
            + ("a token of the server's own needed for the register" if opened else "bearer tokens needed for the register")
            + ("; the workbench may save the rule files" if editing else "")
        ),
        file=sys.stderr,
        flush=True,
    )
    address = f"http://{_host(args.host)}:{args.port}"
    if opened:
        print(
            f"open the workbench at {address}/?token={opened}\n"
            f"the register needs the token, for example: curl -H 'Authorization: Bearer {opened}' {address}/v1/decisions",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log, log_config=_log_config(), server_header=False)
    access = logging.getLogger("uvicorn.access")
    access.addFilter(HiddenTokens())
    if args.access_log:  # uvicorn gives its access logger the level of the rest (warnings), which would keep every request line out
        access.setLevel(logging.INFO)
    try:
        uvicorn.Server(config).run(sockets=[listening])
    except KeyboardInterrupt:  # uvicorn finished the requests in flight, then passed the signal on
        pass
    finally:
        listening.close()
        register.close()
    print("stopped", file=sys.stderr)
    return 0


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging, with the access log on stderr beside everything else the server says (uvicorn's default is stdout)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def with_own_token(settings: Any) -> tuple[Any, str]:
    """The settings with a new random token for whoever started the server, and that token.

    The register holds residents' and services' facts and the council's
    overrides, and a server may write rule files: neither may be open to every
    account on a shared machine through loopback. Without tokens given, the
    server makes one (as Jupyter does) and prints the workbench's address with
    it, which only the person who started it sees. Saves and records made with
    it say ``local``.
    """
    import secrets

    import attrs

    from policy_rules.service.guard import LOCAL

    token = secrets.token_urlsafe(32)
    return attrs.evolve(settings, tokens={token: LOCAL}), token


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use or an unknown host is reported as a user's error, not a server's log."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise UsageError(f"there is no host called {host} on this machine", "--host") from None
    family, kind, proto, _name, address = found[0]
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as error:
        listening.close()
        raise UsageError(f"cannot listen on {host}:{port} ({error.strerror}); choose another --port or --host", "--port") from None
    listening.listen(2048)
    return listening


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


__all__ = ["serve"]
