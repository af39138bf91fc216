"""The service's guard through real HTTP: the Host it answers to, the Origin of what changes or reads the register, and its own token.

Each refusal is tried as an attacker would (a page rebinding its name to
127.0.0.1, a page of another origin, another account on the machine without
the token), and each allowed path as an officer or a script would take it.
The register is then read with the command line, which reads the database
directly, to show that a refusal wrote nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from policy_rules.api import load_policy
from policy_rules.service.app import create_app
from policy_rules.store import DecisionRegister
from tests.support.service_support import COMPLETE, Server, running, write_rules

NO_TOKENS = {"POLICY_RULES_TOKENS": ""}
FACTS = {"facts": COMPLETE, "as_of": "2025-01-01"}
RULE_TEXT = {"files": {"policy.rules": 'policy "x"\n'}}

#: Every route the service answers, with a body that would succeed given the token: (method, path, JSON body).
ROUTES = [
    ("GET", "/", None),
    ("GET", "/healthz", None),
    ("GET", "/openapi.json", None),
    ("GET", "/v1/policy", None),
    ("GET", "/workbench/static/workbench.js", None),
    ("GET", "/workbench/rules", None),
    ("GET", "/workbench/examples", None),
    ("GET", "/workbench/saves", None),
    ("GET", "/workbench/saves/1", None),
    ("GET", "/v1/decisions", None),
    ("GET", "/v1/decisions/1", None),
    ("POST", "/v1/evaluate", FACTS),
    ("POST", "/v1/evaluate/batch", {"services": [COMPLETE], "as_of": "2025-01-01"}),
    ("POST", "/v1/decisions", FACTS),
    ("POST", "/v1/decisions/1/overrides", {"outcome": "procure", "reason": "members chose", "by": "A. Officer"}),
    ("POST", "/v1/plan", {"services": []}),
    ("POST", "/v1/check", RULE_TEXT),
    ("POST", "/workbench/save", {**RULE_TEXT, "base": "0", "reason": "r", "by": "A. Officer"}),
    ("POST", "/workbench/take-up", None),
    ("POST", "/workbench/report", {"facts": COMPLETE}),
    ("POST", "/workbench/facts", {"name": "f.yaml", "text": "cost: 1\n"}),
    ("POST", "/workbench/format", {"name": "policy.rules", "text": 'policy "x"\n'}),
    ("POST", "/workbench/impact", RULE_TEXT),
]
#: What changes something or reads the register: refused from a foreign page.
GUARDED = [(m, p, b) for m, p, b in ROUTES if m == "POST" or p.startswith(("/v1/decisions", "/workbench/saves"))]
#: What needs the token: the register, read or written, saves, and taking up the files on disk.
TOKENED = [(m, p, b) for m, p, b in ROUTES if p.startswith(("/v1/decisions", "/workbench/save", "/workbench/take-up"))]
OPEN = [
    ("POST", "/v1/evaluate", FACTS),
    ("POST", "/v1/evaluate/batch", {"services": [COMPLETE], "as_of": "2025-01-01"}),
    ("POST", "/v1/check", RULE_TEXT),
    ("GET", "/v1/policy", None),
    ("GET", "/healthz", None),
]


def test_the_routes_tried_here_are_every_route_the_service_answers(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    with DecisionRegister(str(tmp_path / "register.db")) as register:
        app = create_app(load_policy(rules), register)
        served: set[tuple[str, str]] = set()
        pending = list(app.routes)
        while pending:
            route = pending.pop()
            pending += getattr(getattr(route, "original_router", None), "routes", [])
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    served.add((method, route.path.replace("{decision_id}", "1").replace("{save_id}", "1")))
    tried = {(method, path) for method, path, _ in ROUTES}
    assert served - tried == set()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("guard")
    rules = write_rules(folder)
    with running(rules, str(folder / "register.db"), "--allow-editing", env=NO_TOKENS) as started:
        started.folder = folder  # type: ignore[attr-defined]
        yield started


def send(server: Server, method: str, path: str, body: object, **headers: str) -> httpx.Response:
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=30)


def recorded(server: Server) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the register, read from the database itself (read-only, in this process: a refused request must change none)."""
    path = server.folder / "register.db"  # type: ignore[attr-defined]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() for table in tables}


def rule_file(server: Server) -> str:
    return (server.folder / "rules" / "policy.rules").read_text(encoding="utf-8")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_a_foreign_host_is_refused_on_every_route(server: Server, method: str, path: str, body: object) -> None:
    answer = send(server, method, path, body, host=f"attacker.example:{server.port}", **server.auth)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["location"] == "Host"
    assert (
        error["message"]
        == f"this service is not reached by the name `attacker.example:{server.port}`; if it is (behind a proxy), start it with --allowed-host NAME"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_loopback_names_are_served(server: Server, host: str) -> None:
    for path in ("/", "/healthz", "/v1/policy"):
        assert send(server, "GET", path, None, host=f"{host}:{server.port}").status_code == 200


def test_a_name_given_with_allowed_host_is_served_and_others_are_still_refused(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    with running(rules, str(tmp_path / "register.db"), "--allowed-host", "rules.council.example", env=NO_TOKENS) as started:
        assert send(started, "GET", "/healthz", None, host="rules.council.example").status_code == 200
        assert send(started, "GET", "/v1/decisions", None, host="rules.council.example", **started.auth).status_code == 200
        assert send(started, "GET", "/healthz", None, host="other.council.example").status_code == 400


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
@pytest.mark.parametrize("page", ["origin", "referer", "null"])
def test_a_foreign_page_is_refused_for_every_change_and_register_read_even_with_the_token(
    server: Server, method: str, path: str, body: object, page: str
) -> None:
    before, rules = recorded(server), rule_file(server)
    headers = (
        {"origin": "http://attacker.example"} if page == "origin" else {"referer": "http://attacker.example/page"} if page == "referer" else {"origin": "null"}
    )
    answer = send(server, method, path, body, **headers, **server.auth)
    assert answer.status_code == 403
    error = answer.json()["error"]
    shown = "null" if page == "null" else "http://attacker.example"
    assert error == {
        "location": "Origin",
        "message": f"this service takes no changes or register reads from the web page at {shown}; to let it, start the server with --allow-origin {shown}",
    }
    assert recorded(server) == before and rule_file(server) == rules


def test_the_servers_own_page_records_reads_and_overrides(server: Server) -> None:
    own = {"origin": server.url, **server.auth}
    made = send(server, "POST", "/v1/decisions", FACTS, **own)
    assert made.status_code == 201
    number = made.json()["id"]
    assert send(server, "GET", f"/v1/decisions/{number}", None, referer=server.url + "/#register", **server.auth).status_code == 200
    overridden = send(server, "POST", f"/v1/decisions/{number}/overrides", {"outcome": "procure", "reason": "members chose", "by": "A. Officer"}, **own)
    assert overridden.status_code == 201
    assert number in [row[0] for row in recorded(server)["decisions"]]
    assert send(server, "POST", "/v1/evaluate", FACTS, origin=f"http://localhost:{server.port}", host=f"localhost:{server.port}").status_code == 200


def test_no_cors_headers_without_allow_origin(server: Server) -> None:
    preflight = httpx.options(
        server.url + "/v1/decisions",
        headers={"origin": "http://attacker.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization"},
    )
    assert not any(name.startswith("access-control-") for name in preflight.headers)
    read = send(server, "GET", "/v1/policy", None, origin="http://attacker.example")
    assert read.status_code == 200 and not any(name.startswith("access-control-") for name in read.headers)


def test_an_origin_named_by_allow_origin_gets_cors_and_may_record(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    dashboard = "https://dashboard.council.example"
    with running(rules, str(tmp_path / "register.db"), "--allow-origin", dashboard, env=NO_TOKENS) as started:
        preflight = httpx.options(
            started.url + "/v1/decisions",
            headers={"origin": dashboard, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == dashboard
        assert "POST" in preflight.headers["access-control-allow-methods"]
        made = send(started, "POST", "/v1/decisions", FACTS, origin=dashboard, **started.auth)
        assert made.status_code == 201 and made.headers["access-control-allow-origin"] == dashboard
        assert send(started, "POST", "/v1/decisions", FACTS, origin="http://attacker.example", **started.auth).status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), TOKENED, ids=[f"{m} {p}" for m, p, _ in TOKENED])
@pytest.mark.parametrize("given", [None, "Bearer not-the-token-of-this-server", "Basic dXNlcjpwYXNz"])
def test_without_the_token_the_register_and_saves_answer_401(server: Server, method: str, path: str, body: object, given: str | None) -> None:
    before, rules = recorded(server), rule_file(server)
    answer = send(server, method, path, body, **({"authorization": given} if given else {}))
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == (
        "the register and saving rules need the token the server printed when it started: send the header `Authorization: Bearer TOKEN`"
    )
    assert server.token is not None and server.token not in answer.text
    assert recorded(server) == before and rule_file(server) == rules


@pytest.mark.parametrize(("method", "path", "body"), OPEN, ids=[f"{m} {p}" for m, p, _ in OPEN])
def test_deciding_without_recording_needs_no_token(server: Server, method: str, path: str, body: object) -> None:
    assert send(server, method, path, body).status_code == 200


def test_the_server_prints_the_workbench_address_and_a_curl_line_with_its_token(server: Server) -> None:
    lines = server.started.splitlines()
    assert lines[0].endswith("a token of the server's own needed for the register; the workbench may save the rule files")
    assert lines[1:] == [
        f"open the workbench at {server.url}/?token={server.token}",
        f"the register needs the token, for example: curl -H 'Authorization: Bearer {server.token}' {server.url}/v1/decisions",
    ]


def test_the_token_never_appears_in_the_access_log_the_register_or_error_bodies(tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    database = tmp_path / "register.db"
    started = Server(rules, str(database), "--access-log", env=NO_TOKENS)
    try:
        token = started.token
        assert token is not None
        assert send(started, "GET", f"/?token={token}", None).status_code == 200
        made = send(started, "POST", "/v1/decisions", FACTS, **started.auth)
        assert made.status_code == 201 and token not in made.text
        refused = send(started, "GET", f"/v1/decisions?token={token}", None, authorization=f"Bearer {token}x")
        assert refused.status_code == 401 and token not in refused.text
        shown = send(started, "GET", f"/v1/decisions/{made.json()['id']}", None, **started.auth)
        assert shown.json()["recorded_by"] == "local" and token not in shown.text
    finally:
        log = started.stop()
    after_start = log.split("\n", 3)[3]
    assert "GET /?token=(hidden) HTTP/1.1" in after_start and "/v1/decisions?token=(hidden)" in after_start
    assert token not in after_start
    assert token.encode() not in database.read_bytes()
