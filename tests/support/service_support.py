"""What the service and register tests share: a small policy of their own, databases on both engines, and a real server process.

PostgreSQL tests run against the server named by ``POLICY_RULES_TEST_PG``
(``.ci/run`` starts one and sets it); each test gets a database of its own,
dropped afterwards. Without the variable those tests skip, saying why.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PG_VARIABLE = "POLICY_RULES_TEST_PG"

RULES = """
policy "Test service policy"
  version "7"
  service name service
  outcome delivery
  priority urgency
  element outcomes part_delivery

record part
  field name is text
  field specialist is yes/no

fact service is text
fact cost is money
  asks "What would it cost a year in-house?"
fact budget is money
fact risky is yes/no
  means "in-house delivery would be risky"
fact region is one of north, south
fact parts is list of part
  default empty

decision delivery
  outcomes in_house, procure, partnership

decision urgency
  outcomes high, normal

decision part_delivery
  for each part in parts
  outcomes part_in_house, part_external

rule in_house_by_default
  by default delivery is in_house
  because "in-house unless there is a reason not to"

rule procure_when_too_dear
  exception to in_house_by_default
  when cost is more than budget
  then delivery is procure
  because "what cannot be afforded is bought in"

rule partnership_when_risky
  exception to procure_when_too_dear
  when risky
  then delivery is partnership
  because "a risky service is shared"

rule normal_urgency
  by default urgency is normal
  because "most services are not urgent"

rule high_in_the_north
  exception to normal_urgency
  when region is north
  then urgency is high
  because "the north comes first"

rule parts_in_house
  by default part_delivery is part_in_house
  because "parts follow the service"

rule specialist_parts_external
  exception to parts_in_house
  when part.specialist
  then part_delivery is part_external
  because "specialist parts are bought in"
"""

#: Facts that settle every decision of ``RULES``.
COMPLETE = {"service": "Libraries", "cost": 120, "budget": 100, "risky": False, "region": "north", "parts": [{"name": "Vans", "specialist": True}]}


def write_rules(folder: Path) -> Path:
    rules = folder / "rules"
    rules.mkdir()
    (rules / "policy.rules").write_text(RULES, encoding="utf-8")
    return rules


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards; its ``postgresql://`` URL."""
    server = os.environ.get(PG_VARIABLE)
    if not server:
        pytest.skip(f"no PostgreSQL server for tests: set {PG_VARIABLE} to a postgresql:// URL (.ci/run starts one and sets it)")
    import psycopg

    name = f"policy_rules_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _old = server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A register's ``--db`` on the engine named: a SQLite file in ``folder``, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield str(folder / "register.db")
    else:
        with postgres_database() as url:
            yield url


class Server:
    """``policy-rules serve`` in a process of its own, on 127.0.0.1 and a free port."""

    def __init__(self, rules: Path, db: str, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "policy_rules.cli", "serve", str(rules), "--port", str(self.port), "--db", db, *extra]
        environment = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started, self.token = "", None
        self._wait()
        self.started, self.token = self._announced()

    @property
    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header with the token the server made for itself (none when it was given tokens)."""
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def _announced(self) -> tuple[str, str | None]:
        """What the server printed on starting, and the token of its own it printed (None when it was given tokens).

        The lines are read before the first request is answered: the server
        prints them before it starts listening, so reading cannot block.
        """
        assert self.process.stderr is not None
        first = self.process.stderr.readline()
        if "token of the server's own" not in first:
            return first, None
        lines = [self.process.stderr.readline(), self.process.stderr.readline()]
        found = re.search(r"/\?token=([A-Za-z0-9_-]+)", lines[0])
        assert found, lines
        return first + "".join(lines), found.group(1)

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.process.stderr.read() if self.process.stderr else ''}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the server did not answer within 60 s")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine loses its process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; the server's stderr (with the lines it printed on starting)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.started + (self.process.stderr.read() if self.process.stderr else "")


@contextlib.contextmanager
def running(rules: Path, db: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    server = Server(rules, db, *extra, env=env)
    try:
        yield server
    finally:
        server.stop()
