"""What one request may cost the service, through real HTTP: time on the event loop, disk in the parse cache, bytes in the register.

Each test starts ``policy-rules serve`` as an officer would and sends what an
attacker could within the limits: the heaviest body the server accepts, a
thousand distinct rule texts, a decision with thousands of parts. The
service must keep answering ``/healthz`` quickly, keep its cache under its
cap, and store no more per decision than a small multiple of the request.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from policy_rules.language.loader import CACHE_BYTES
from tests.support.service_support import COMPLETE, Server, running, write_rules

NO_TOKENS = {"POLICY_RULES_TOKENS": ""}
LIMIT = 1_048_576  # serve's default --max-body


def parts_facts(size: int) -> dict[str, Any]:
    """Facts of one service with as many parts (each without its ``specialist`` field) as fit in a request of about ``size`` bytes."""
    count = max(0, (size - 200) // 19)
    return {**COMPLETE, "parts": [{"name": f"p{i:05d}"} for i in range(min(count, 10_000))]}


def heaviest_evaluation() -> tuple[str, dict[str, Any]]:
    """A ``POST /v1/evaluate`` as heavy as the limits allow: the most parts a list may hold, each leaving a fact to find."""
    body = {"facts": parts_facts(LIMIT), "as_of": "2025-01-01", "trace": True}
    assert len(json.dumps(body)) < LIMIT
    return "/v1/evaluate", body


def heaviest_batch() -> tuple[str, dict[str, Any]]:
    services = [{**parts_facts(1_000), "service": f"S{i}"} for i in range(1000)]
    body = {"services": services, "as_of": "2025-01-01", "trace": True}
    assert len(json.dumps(body)) < LIMIT
    return "/v1/evaluate/batch", body


def heaviest_format() -> tuple[str, dict[str, Any]]:
    rule = 'rule r{0}\n  exception to in_house_by_default\n  when cost is more than budget * {0}%\n  then delivery is procure\n  because "r{0}"\n\n'
    text = 'policy "Heavy"\n  outcome delivery\n\nfact cost is money\nfact budget is money\n\ndecision delivery\n  outcomes in_house, procure\n\n'
    text += 'rule in_house_by_default\n  by default delivery is in_house\n  because "x"\n\n'
    text += "".join(rule.format(i) for i in range(7_000))
    body = {"name": "heavy.rules", "text": text}
    assert len(json.dumps(body)) < LIMIT
    return "/workbench/format", body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    with running(write_rules(folder), str(folder / "register.db"), "--time-limit", "120", env=NO_TOKENS) as started:
        yield started


def in_flight(server: Server, path: str, body: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Send ``body`` to ``path`` on a thread of its own; the thread, and where its answer will be put."""
    found: dict[str, Any] = {}

    def send() -> None:
        answer = httpx.post(server.url + path, json=body, timeout=300)
        found["status"], found["ended"] = answer.status_code, time.monotonic()

    thread = threading.Thread(target=send)
    thread.start()
    return thread, found


def healthz_while(server: Server, thread: threading.Thread, found: dict[str, Any]) -> list[float]:
    """How long each ``/healthz`` asked while the heavy request in ``thread`` ran took to answer."""
    time.sleep(0.5)  # the heavy request is read and handed to a worker
    answered: list[tuple[float, float]] = []
    while thread.is_alive() and len(answered) < 20:
        began = time.monotonic()
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        answered.append((began, time.monotonic()))
        time.sleep(0.05)
    thread.join()
    return [ended - began for began, ended in answered if ended < found["ended"]]


@pytest.mark.parametrize("heaviest", [heaviest_evaluation, heaviest_format], ids=["evaluate", "format"])
def test_healthz_answers_within_a_second_while_the_heaviest_request_is_decided(server: Server, heaviest: Callable[[], Any]) -> None:
    # Not queued behind the heavy request, which takes several seconds. One answer can wait for a long call of the heavy
    # request's thread to let go of the interpreter: up to 0.6 s was seen on the shared 2-core machine, so the bound is 1 s.
    path, body = heaviest()
    thread, found = in_flight(server, path, body)
    during = healthz_while(server, thread, found)
    assert found["status"] == 200
    assert len(during) >= 3, "the heavy request ended before /healthz could be asked while it ran"
    assert max(during) < 1.0, during


def test_the_heaviest_batch_is_given_up_at_the_time_limit_while_healthz_answers_and_its_work_stops_at_the_next_service(tmp_path: Path) -> None:
    # 1,000 services of 42 parts each missing a field take the exact search over a minute here: more than a limit of 3 s.
    # With one thread, the small request after it is decided only once the batch's work has stopped; had the work run on
    # to its last service, the small request would wait past its own 3 s and be refused too.
    with running(write_rules(tmp_path), str(tmp_path / "register.db"), "--time-limit", "3", "--threads", "1", env=NO_TOKENS) as started:
        path, body = heaviest_batch()
        thread, found = in_flight(started, path, body)
        during = healthz_while(started, thread, found)
        assert found["status"] == 503
        small = httpx.post(started.url + "/v1/evaluate", json={"facts": COMPLETE}, timeout=30)
    assert small.status_code == 200, small.text
    assert len(during) >= 3 and max(during) < 1.0, during


def test_when_every_worker_is_busy_and_the_queue_full_a_request_is_answered_503_with_retry_after(tmp_path: Path) -> None:
    with running(write_rules(tmp_path), str(tmp_path / "register.db"), "--threads", "1", "--queue", "0", env=NO_TOKENS) as started:
        path, body = heaviest_evaluation()
        thread, found = in_flight(started, path, body)
        time.sleep(0.5)
        refused = httpx.post(started.url + "/v1/evaluate", json={"facts": COMPLETE}, timeout=30)
        busy = thread.is_alive()
        assert httpx.get(started.url + "/healthz", timeout=10).status_code == 200
        thread.join()
    assert busy, "the heavy request ended before the second one was sent"
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    assert refused.json()["error"]["message"].startswith("the service is busy (1 requests being worked on); try again in 2 seconds")
    assert found["status"] == 200


def test_a_decision_over_the_time_limit_is_answered_503_and_nothing_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "register.db"
    with running(write_rules(tmp_path), str(db), "--time-limit", "0.2", "--threads", "1", env=NO_TOKENS) as started:
        body = {"facts": parts_facts(LIMIT), "as_of": "2025-01-01"}
        answer = httpx.post(started.url + "/v1/decisions", json=body, headers=started.auth, timeout=300)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
        assert answer.json()["error"]["message"].startswith("this request took longer than the service allows (0.2 s), so nothing was recorded")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the abandoned work holds the one thread until it ends
            small = httpx.post(started.url + "/v1/decisions", json={"facts": COMPLETE, "as_of": "2025-01-01"}, headers=started.auth, timeout=30)
            if small.status_code == 201:
                break
            assert small.status_code == 503
            time.sleep(0.2)
        assert small.status_code == 201
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT service FROM decisions").fetchall() == [("Libraries",)]


SENT = 'policy "Sent {number}"\n  outcome delivery\n\nfact cost{number} is money\n\ndecision delivery\n  outcomes a, b\n\nrule r\n  by default delivery is a\n'


def cache_bytes(folder: Path) -> int:
    return sum(entry.stat().st_size for entry in folder.glob("??/*.json"))


def test_the_parse_cache_stays_under_its_cap_and_keeps_nothing_of_1000_distinct_checks(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**NO_TOKENS, "POLICY_RULES_CACHE": str(cache)}
    with running(write_rules(tmp_path), str(tmp_path / "register.db"), env=env) as started:
        served = sorted(p.name for p in cache.glob("??/*.json"))
        assert len(served) == 1  # the policy's one rule file, read from disk
        with httpx.Client(base_url=started.url, timeout=30) as client:
            for number in range(1000):
                text = SENT.format(number=number)
                answer = client.post("/v1/check", json={"files": {f"sent{number}.rules": text}})
                assert answer.status_code == 200 and answer.json()["errors"] == 0
            for number in range(20):
                drafted = client.post("/workbench/impact", json={"files": {"policy.rules": f"# draft {number}\n{open_rules(tmp_path)}"}, "example": "none"})
                assert drafted.status_code in (404, 422)
    assert sorted(p.name for p in cache.glob("??/*.json")) == served
    assert cache_bytes(cache) <= CACHE_BYTES


def open_rules(folder: Path) -> str:
    return (folder / "rules" / "policy.rules").read_text(encoding="utf-8")


def stored_bytes(db: Path) -> list[int]:
    with sqlite3.connect(db) as connection:
        return [size for (size,) in connection.execute("SELECT length(CAST(facts AS BLOB)) + length(CAST(decision AS BLOB)) FROM decisions ORDER BY id")]


@pytest.mark.parametrize("size", [1_000, 20_000, 200_000, 900_000])
def test_a_recorded_decision_stores_at_most_ten_times_its_request(tmp_path: Path, size: int) -> None:
    db = tmp_path / "register.db"
    body = json.dumps({"facts": parts_facts(size), "as_of": "2025-01-01"}).encode()
    with running(write_rules(tmp_path), str(db), "--time-limit", "120", "--max-record", "16M", env=NO_TOKENS) as started:
        answer = httpx.post(started.url + "/v1/decisions", content=body, headers={**started.auth, "content-type": "application/json"}, timeout=300)
        assert answer.status_code == 201
        shown = httpx.get(f"{started.url}/v1/decisions/{answer.json()['id']}", headers=started.auth, timeout=300).json()
    (stored,) = stored_bytes(db)
    assert stored <= 10 * len(body), (stored, len(body))
    assert shown["trace"] == answer.json()["trace"] and shown["trace_replayed"] == "same"  # the whole explanation, derived again


def test_a_decision_larger_than_the_record_cap_is_refused_with_413_and_nothing_written(tmp_path: Path) -> None:
    db = tmp_path / "register.db"
    with running(write_rules(tmp_path), str(db), "--max-record", "64k", env=NO_TOKENS) as started:
        answer = httpx.post(started.url + "/v1/decisions", json={"facts": parts_facts(40_000), "as_of": "2025-01-01"}, headers=started.auth, timeout=60)
        assert answer.status_code == 413
        error = answer.json()["error"]
        assert error["location"] == "facts"
        assert error["message"].startswith("this decision would take ") and "more than it keeps for one (65,536 bytes, --max-record)" in error["message"]
        small = httpx.post(started.url + "/v1/decisions", json={"facts": COMPLETE, "as_of": "2025-01-01"}, headers=started.auth, timeout=60)
        assert small.status_code == 201
    assert len(stored_bytes(db)) == 1
