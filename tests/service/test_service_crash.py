"""The crash test: the server is SIGKILLed in the middle of a load of recorded decisions, on SQLite and on PostgreSQL.

After a restart on the same register, every decision that was answered 201
is there, reads back as it was answered, and replays to the same result with
its own rules; the database passes its integrity check.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from policy_rules.store import DecisionRegister
from tests.support.service_support import COMPLETE, Server, database, running, write_rules

CLIENTS = 4


def _load(url: str, auth: dict[str, str], acknowledged: list[dict], stop: threading.Event, client_number: int) -> None:
    with httpx.Client(timeout=10, headers=auth) as client:
        n = 0
        while not stop.is_set():
            n += 1
            facts = {**COMPLETE, "service": f"client {client_number} call {n}", "cost": n % 200, "risky": n % 7 == 0}
            try:
                response = client.post(f"{url}/v1/decisions", json={"facts": facts, "as_of": "2025-03-01", "trace": n % 2 == 0})
            except httpx.TransportError:
                return  # the server is gone: this request was never acknowledged
            if response.status_code == 201:
                acknowledged.append(response.json())


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_every_acknowledged_decision_survives_sigkill_and_replays(engine: str, tmp_path: Path) -> None:
    rules = write_rules(tmp_path)
    with database(engine, tmp_path) as db:
        server = Server(rules, db)
        acknowledged: list[dict] = []
        stop = threading.Event()
        clients = [threading.Thread(target=_load, args=(server.url, server.auth, acknowledged, stop, i)) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # mid-load: the clients are still sending
        stop.set()
        for client in clients:
            client.join(15)
        assert len(acknowledged) >= 150, "the load did not get going"

        with running(rules, db) as again:
            with httpx.Client(base_url=again.url, timeout=10, headers=again.auth) as client:
                for answered in acknowledged:
                    found = client.get(f"/v1/decisions/{answered['id']}").json()
                    assert found["facts"] == answered["facts"] and found["outcome"] == answered["outcome"]
                    assert found["recorded_at"] == answered["recorded_at"]
                    if answered["trace"]:
                        assert found["trace"] == answered["trace"]
            assert len({a["id"] for a in acknowledged}) == len(acknowledged)
            after = httpx.post(f"{again.url}/v1/decisions", json={"facts": COMPLETE}, headers=again.auth).json()
            assert after["id"] > max(a["id"] for a in acknowledged)

        with DecisionRegister(db) as register:
            for answered in acknowledged:
                replay = register.replay(register.get(answered["id"]))  # type: ignore[arg-type]
                assert replay.same, (answered["id"], replay.differences)
            with register.engine.connect() as connection:
                if engine == "sqlite":
                    assert connection.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
                else:
                    assert connection.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one() >= len(acknowledged) + 1
