"""The REST API through real HTTP, against ``policy-rules serve`` running in its own process on 127.0.0.1.

Every endpoint, every error status, the token rules and the limits. The
servers are started once per module (one per database engine for the open
server); the tests use the small policy of ``service_support``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from policy_rules.api import Policy, load_policy
from tests.support.service_support import COMPLETE, RULES, Server, database, running, write_rules

TOKENS = "alice=alice-token-0123456789\nbob=bob-token-0123456789abc\n"


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rules(tmp_path_factory.mktemp("policy"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, rules: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database(request.param, tmp_path_factory.mktemp("db")) as db, running(rules, db, "--max-body", "4k", "--max-batch", "3") as started:
        yield started


@pytest.fixture(scope="module")
def guarded(rules: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("guarded")
    tokens = folder / "tokens"
    tokens.write_text("# who may record\n" + TOKENS, encoding="utf-8")
    with running(rules, str(folder / "register.db"), "--tokens", str(tokens)) as started:
        yield started


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "location"}
    assert "Traceback" not in response.text
    return body["error"]


def test_healthz_names_the_policy(server: Server, rules: Path) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "policy": load_policy(rules).info.to_dict()}


def test_policy_lists_facts_with_types_and_questions_and_decisions(server: Server) -> None:
    body = httpx.get(f"{server.url}/v1/policy").json()
    facts = {f["name"]: f for f in body["facts"]}
    assert facts["cost"] == {"name": "cost", "type": "money", "means": None, "question": "What would it cost a year in-house?"}
    assert facts["region"]["values"] == ["north", "south"]
    assert facts["parts"]["record"] == "part" and facts["parts"]["default"] == "empty"
    assert facts["risky"]["question"] == "In-house delivery would be risky?"
    assert {d["name"]: d["outcomes"] for d in body["decisions"]} == {
        "delivery": ["in_house", "procure", "partnership"],
        "urgency": ["high", "normal"],
        "part_delivery": ["part_in_house", "part_external"],
    }
    assert (body["outcome"], body["priority"], body["element_outcomes"], body["service_name"]) == ("delivery", "urgency", "part_delivery", "service")
    assert body["records"][0]["fields"][1] == {"name": "specialist", "type": "yes/no", "means": None, "question": None, "optional": False}


def test_evaluate_gives_the_json_decision_and_stores_nothing(server: Server, rules: Path) -> None:
    before = httpx.get(f"{server.url}/v1/decisions", headers=server.auth).json()["decisions"]
    response = httpx.post(f"{server.url}/v1/evaluate", json={"facts": COMPLETE, "as_of": "2025-03-01"})
    assert response.status_code == 200
    expected = json.loads(json.dumps(load_policy(rules).evaluate(COMPLETE, "2025-03-01").to_dict()))
    assert response.json() == expected
    assert expected["outcome"] == "procure" and expected["trace"]
    quick = httpx.post(f"{server.url}/v1/evaluate", json={"facts": COMPLETE, "as_of": "2025-03-01", "trace": False}).json()
    assert quick["trace"] == [] and {k: v for k, v in quick.items() if k != "trace"} == {k: v for k, v in expected.items() if k != "trace"}
    assert httpx.get(f"{server.url}/v1/decisions", headers=server.auth).json()["decisions"] == before


def test_evaluate_with_missing_facts_lists_the_questions(server: Server) -> None:
    body = httpx.post(f"{server.url}/v1/evaluate", json={"facts": {"service": "Parks", "cost": 10}, "trace": False}).json()
    assert body["outcome"] == "undetermined"
    assert body["needed_facts"] == ["budget", "risky", "region"]
    assert body["questions"][0] == {"fact": "budget", "question": "What is budget?"}


@pytest.mark.parametrize(
    ("body", "status", "message", "location"),
    [
        ({"facts": {"servce": "x"}}, 422, "there is no fact called `servce` in this policy; did you mean `service`?", "facts: service '#1': fact 'servce'"),
        ({"facts": {"service": "Parks", "cost": "lots"}}, 422, "not money", "facts: service 'Parks': fact 'cost'"),
        ({"facts": {"region": "west"}}, 422, "west", "facts: service '#1': fact 'region'"),
        ({"facts": {}, "as_of": "2025-02-30"}, 422, "`2025-02-30` is not a date; write it as YYYY-MM-DD", "as_of"),
        ({"facts": {}, "as_of": "1 March"}, 422, "write the date as YYYY-MM-DD", "as_of"),
        ({"facts": []}, 422, "valid dictionary", "facts"),
        ({"facts": {}, "trace": "sometimes"}, 422, "boolean", "trace"),
        ({"facts": {}, "tracing": True}, 422, "extra inputs are not permitted", "tracing"),
        ({}, 422, "field required", "facts"),
        ({"facts": {"service": "a\u0000b"}}, 422, "NUL", "facts.service"),
    ],
)
def test_evaluate_reports_unusable_facts_and_fields_with_their_place(server: Server, body: dict, status: int, message: str, location: str) -> None:
    error = _error(httpx.post(f"{server.url}/v1/evaluate", json=body), status)
    assert message in error["message"] and error["location"] == location


def test_a_body_that_is_not_a_json_object_is_400(server: Server) -> None:
    headers = {"content-type": "application/json"}
    assert "not JSON" in _error(httpx.post(f"{server.url}/v1/evaluate", content=b'{"facts": ', headers=headers), 400)["message"]
    assert "JSON object" in _error(httpx.post(f"{server.url}/v1/evaluate", content=b"[1, 2]", headers=headers), 400)["message"]
    lone = b'{"facts": {"service": "\\ud800"}}'
    assert "surrogate" in _error(httpx.post(f"{server.url}/v1/evaluate", content=lone, headers=headers), 422)["message"]


def test_unknown_addresses_and_methods(server: Server) -> None:
    assert _error(httpx.get(f"{server.url}/v1/nothing"), 404)["location"] == "path"
    assert _error(httpx.delete(f"{server.url}/v1/decisions/1"), 405)["location"] == "path"


def test_record_show_list_and_override(server: Server, rules: Path) -> None:
    facts = {**COMPLETE, "service": "Record test"}
    response = httpx.post(f"{server.url}/v1/decisions", headers=server.auth, json={"facts": facts, "as_of": "2025-03-01"})
    assert response.status_code == 201
    body = response.json()
    decision_id = body["id"]
    assert response.headers["location"] == f"/v1/decisions/{decision_id}"
    assert body["recorded_by"] == "local" and body["facts"] == facts and body["overrides"] == []
    assert {k: v for k, v in body.items() if k not in ("id", "recorded_at", "recorded_by", "facts", "overrides")} == json.loads(
        json.dumps(load_policy(rules).evaluate(facts, "2025-03-01").to_dict())
    )
    # The register keeps a compact trace; shown again, the whole trace is derived anew and matches the one given when recorded.
    assert httpx.get(f"{server.url}/v1/decisions/{decision_id}", headers=server.auth).json() == body | {"trace_replayed": "same"}

    override = httpx.post(
        f"{server.url}/v1/decisions/{decision_id}/overrides",
        headers=server.auth,
        json={"outcome": "in_house", "reason": "brought in-house at extra cost", "by": "Ann Officer"},
    )
    assert override.status_code == 201
    assert {k: override.json()[k] for k in ("decision_id", "outcome", "by", "recorded_by")} == {
        "decision_id": decision_id,
        "outcome": "in_house",
        "by": "Ann Officer",
        "recorded_by": "local",
    }
    shown = httpx.get(f"{server.url}/v1/decisions/{decision_id}", headers=server.auth).json()
    assert shown["outcome"] == "procure" and [o["outcome"] for o in shown["overrides"]] == ["in_house"]

    listed = httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"service": "Record test"}).json()["decisions"]
    assert [d["id"] for d in listed] == [decision_id] and listed[0]["overridden_to"] == "in_house"
    second = httpx.post(f"{server.url}/v1/decisions", headers=server.auth, json={"facts": {**facts, "cost": 1}, "trace": False}).json()
    assert second["trace"] == [] and second["outcome"] == "in_house"
    newest = httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"service": "Record test", "limit": 1}).json()["decisions"]
    assert [d["id"] for d in newest] == [second["id"]]
    assert [
        d["id"]
        for d in httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"service": "Record test", "outcome": "procure"}).json()["decisions"]
    ] == [decision_id]
    assert httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"since": "2999-01-01"}).json() == {"decisions": []}


def test_register_errors(server: Server) -> None:
    assert _error(httpx.get(f"{server.url}/v1/decisions/999999", headers=server.auth), 404)["location"] == "decision_id"
    assert _error(httpx.get(f"{server.url}/v1/decisions/0", headers=server.auth), 400)["location"] == "decision_id"
    assert _error(httpx.get(f"{server.url}/v1/decisions/abc", headers=server.auth), 400)["location"] == "decision_id"
    assert _error(httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"since": "last week"}), 400)["location"] == "since"
    assert _error(httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"limit": 0}), 400)["location"] == "limit"
    nul = _error(httpx.get(f"{server.url}/v1/decisions", headers=server.auth, params={"outcome": "in\x00house"}), 400)
    assert nul["location"] == "outcome" and nul["message"].startswith("text may not contain NUL characters")
    overrides = f"{server.url}/v1/decisions/999999/overrides"
    assert _error(httpx.post(overrides, headers=server.auth, json={"outcome": "in_house", "reason": "r", "by": "x"}), 404)["location"] == "decision_id"
    recorded = httpx.post(f"{server.url}/v1/decisions", headers=server.auth, json={"facts": COMPLETE}).json()["id"]
    overrides = f"{server.url}/v1/decisions/{recorded}/overrides"
    error = _error(httpx.post(overrides, headers=server.auth, json={"outcome": "in_hose", "reason": "r", "by": "x"}), 422)
    assert error == {
        "message": "`in_hose` is not an outcome of this policy; the outcomes are in_house, procure, partnership; did you mean `in_house`?",
        "location": "outcome",
    }
    assert _error(httpx.post(overrides, headers=server.auth, json={"outcome": "in_house", "reason": "", "by": "x"}), 422)["location"] == "reason"
    assert _error(httpx.post(overrides, headers=server.auth, json={"outcome": "in_house", "by": "x"}), 422)["location"] == "reason"
    assert (
        _error(httpx.post(f"{server.url}/v1/decisions", headers=server.auth, json={"facts": {"cost": "x"}}), 422)["location"]
        == "facts: service '#1': fact 'cost'"
    )


def test_batch_decides_in_order_and_locates_each_error(server: Server) -> None:
    services = [COMPLETE, {"service": "Bad", "cost": "x"}, {**COMPLETE, "risky": True}]
    body = httpx.post(f"{server.url}/v1/evaluate/batch", json={"services": services, "as_of": "2025-03-01"}).json()
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[0]["decision"]["outcome"] == "procure" and results[0]["decision"]["trace"] == []
    assert results[1]["error"]["location"] == "services[1]: service 'Bad': fact 'cost'"
    assert results[2]["decision"]["outcome"] == "partnership"
    error = _error(httpx.post(f"{server.url}/v1/evaluate/batch", json={"services": [COMPLETE] * 4}), 413)
    assert error == {"message": "a batch holds at most 3 services; this one has 4", "location": "services"}


def test_a_body_over_the_limit_is_413_with_or_without_its_length(server: Server) -> None:
    big = {"facts": {"service": "x" * 5000}}
    assert "4,096 bytes" in _error(httpx.post(f"{server.url}/v1/evaluate", json=big), 413)["message"]

    def chunks() -> Iterator[bytes]:
        text = json.dumps(big).encode()
        for start in range(0, len(text), 1000):
            yield text[start : start + 1000]

    response = httpx.post(f"{server.url}/v1/evaluate", content=chunks(), headers={"content-type": "application/json"})
    assert "4,096 bytes" in _error(response, 413)["message"]


def test_check_reports_diagnostics_as_the_command_does(server: Server) -> None:
    broken = {"files": {"a.rules": 'policy "x"\nfact a is yes/n\n'}}
    body = httpx.post(f"{server.url}/v1/check", json=broken).json()
    assert body["errors"] == 1 and body["warnings"] == 0
    finding = body["diagnostics"][0]
    assert (finding["severity"], finding["path"], finding["line"], finding["column"]) == ("error", "a.rules", 2, 11)
    assert finding["text"].startswith("a.rules:2:11: error: found `yes`")
    fine = httpx.post(f"{server.url}/v1/check", json={"files": {"ok.rules": RULES}}).json()
    assert fine["errors"] == 0
    assert ".rules" in _error(httpx.post(f"{server.url}/v1/check", json={"files": {"notes.txt": "x"}}), 422)["message"]
    assert "at least one" in _error(httpx.post(f"{server.url}/v1/check", json={"files": {}}), 422)["message"]


def test_with_tokens_the_register_needs_a_valid_bearer_token_and_records_its_holder(guarded: Server) -> None:
    url = f"{guarded.url}/v1/decisions"
    for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}, {"authorization": "Basic YWxpY2U6eA=="}, {"authorization": "Bearer"}):
        response = httpx.post(url, json={"facts": COMPLETE}, headers=headers)
        assert _error(response, 401)["location"] == "Authorization"
        assert response.headers["www-authenticate"] == "Bearer"
    assert _error(httpx.get(url), 401)["location"] == "Authorization"
    assert _error(httpx.get(f"{url}/1"), 401)["location"] == "Authorization"
    recorded = httpx.post(url, json={"facts": COMPLETE}, headers={"authorization": "Bearer bob-token-0123456789abc"})
    assert recorded.status_code == 201 and recorded.json()["recorded_by"] == "bob"
    alice = {"authorization": "Bearer alice-token-0123456789"}
    override = httpx.post(f"{url}/{recorded.json()['id']}/overrides", json={"outcome": "in_house", "reason": "r", "by": "Ann"}, headers=alice)
    assert override.status_code == 201 and override.json()["recorded_by"] == "alice"
    assert _error(httpx.post(f"{url}/{recorded.json()['id']}/overrides", json={"outcome": "in_house", "reason": "r", "by": "Ann"}), 401)
    assert httpx.get(f"{url}/{recorded.json()['id']}", headers=alice).json()["overrides"][0]["recorded_by"] == "alice"
    assert httpx.post(f"{guarded.url}/v1/evaluate", json={"facts": COMPLETE}).status_code == 200  # deciding without recording needs no token
    document = httpx.get(f"{guarded.url}/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def _serve(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "policy_rules.cli", "serve", *arguments], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_beyond_loopback_without_tokens_the_server_refuses_to_start(rules: Path) -> None:
    done = _serve(str(rules), "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2
    assert done.stderr.startswith("--host: error: listening on 0.0.0.0 opens the service beyond this machine; give tokens with --tokens FILE")


def test_bad_tokens_and_a_port_in_use_are_user_errors(rules: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("alice=short\n", encoding="utf-8")
    done = _serve(str(rules), "--tokens", str(bad))
    assert done.returncode == 2 and done.stderr.startswith(f"{bad}:1: error: the token of alice must be 16 to 512 characters")
    done = _serve(str(rules), env={"POLICY_RULES_TOKENS": "alice=alice-token-0123456789\nbob=alice-token-0123456789"})
    assert done.returncode == 2 and "bob has the same token as alice" in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = _serve(str(rules), "--port", str(taken.getsockname()[1]), "--db", str(tmp_path / "r.db"))
    assert done.returncode == 2 and "cannot listen on 127.0.0.1" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_stops_the_server_cleanly(rules: Path, tmp_path: Path) -> None:
    started = Server(rules, str(tmp_path / "r.db"))
    stderr = started.stop()
    assert started.process.returncode == 0
    assert stderr.splitlines()[0].startswith("serving 'Test service policy' (version 7) on http://127.0.0.1:")
    assert stderr.splitlines()[-1] == "stopped"


@contextmanager
def _in_process(policy: Policy, folder: Path) -> Iterator[str]:
    """``policy`` served by uvicorn in a thread on a free loopback port (real HTTP), for a policy a test has altered: its address."""
    import threading
    import time

    import uvicorn

    from policy_rules.service.app import create_app
    from policy_rules.service.guard import Settings
    from policy_rules.store.register import DecisionRegister

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(policy, DecisionRegister(str(folder / "register.db")), Settings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_bug_inside_the_engine_is_a_json_500_without_a_traceback(rules: Path, tmp_path: Path) -> None:
    # A real server whose policy has a bug planted in evaluate: the one status no request can cause.
    policy = load_policy(rules)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a planted bug: secret internal detail")

    policy.evaluate = broken  # type: ignore[method-assign]
    with _in_process(policy, tmp_path) as url:
        response = httpx.post(f"{url}/v1/evaluate", json={"facts": COMPLETE})
    error = _error(response, 500)
    assert error["message"] == "internal error in policy_rules; please report it with the request you sent (RuntimeError)"
    assert "secret internal detail" not in response.text


def test_plan_gives_what_the_planner_gives_for_the_same_register(tmp_path: Path) -> None:
    # A real server on the bundled rules, planning the example register.
    from policy_rules import plan
    from policy_rules.registers.facts import read_facts_file
    from tests.support.cli_helpers import EXAMPLES, HARINGEY

    policy = load_policy(HARINGEY)
    services = [dict(s.raw) for s in read_facts_file(str(EXAMPLES / "insourcing-register.csv")).services][:12]
    options = {"start": "2027-Q2", "quarters": 6, "staff_per_quarter": 40, "budget_per_year": 1_500_000, "as_of": "2027-03-01"}
    with _in_process(policy, tmp_path) as server_url:
        url = f"{server_url}/v1/plan"
        response = httpx.post(url, json={"services": services, **options}, timeout=60)
        assert response.status_code == 200, response.text
        got = response.json()
        expected = plan(policy, services, **options, time_limit=5.0, workers=1).to_dict()
        assert {k: v for k, v in got.items() if k != "seconds"} == {k: v for k, v in expected.items() if k != "seconds"}
        assert len(got["services"]) == len(services)
        assert _error(httpx.post(url, json={"services": services, "quarters": 0}), 422)["location"] == "quarters"
        assert "colour" in _error(httpx.post(url, json={"services": [{"colour": "red"}]}), 422)["location"]
