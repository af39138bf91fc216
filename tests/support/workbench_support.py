"""What the workbench's tests share: a small policy of their own, a change to it, a register, and a real server.

The server is ``policy-rules serve`` run as a process on 127.0.0.1 and a free
port, with its own register in a temporary folder, so the browser tests drive
exactly what an officer would start.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RULES = """policy "Workbench test policy"
  version "1"
  service name service
  outcome delivery

document handbook "Test handbook"
  sections "Money", "Local"

fact service is text
  means "the service's name"

fact cost is money
  means "the yearly cost in-house"
  asks "What would the service cost a year in-house?"

fact budget is money
  means "the yearly budget"
  asks "What is the service's yearly budget?"

fact local is yes/no
  means "a local provider can deliver it"
  asks "Can a local provider deliver the service?"

define affordable as
  cost is at most budget
  because "in-house delivery must fit the budget"
  cites handbook section "Money"

decision delivery
  means "how the service is delivered"
  outcomes in_house, procure, procure_local

rule in_house_by_default
  by default delivery is in_house
  because "the council runs services itself unless there is a reason not to"
  cites handbook section "Money"

rule buy_in
  exception to in_house_by_default
  when not affordable
  then delivery is procure
  because "a service the council cannot afford is bought in"
  cites handbook section "Money"

rule local_first
  exception to buy_in
  when not affordable and local
  then delivery is procure_local
  because "when buying in, a local provider comes first"
  cites handbook section "Local"
"""

#: The draft: a service is affordable up to 20% over budget, so some services bought in now stay in-house.
CHANGED = RULES.replace("cost is at most budget", "cost is at most budget * 120%")

REGISTER = """service,cost,budget,local
Libraries,100,200,no
Parks,230,200,yes
Cleaning,500,200,no
Meals,210,200,no
Leisure,190,200,yes
Transport,900,100,yes
"""

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_policy(folder: Path, text: str = RULES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.rules").write_text(text, encoding="utf-8")
    return folder


@contextlib.contextmanager
def running_server(rules: Path, workdir: Path, *extra: str) -> Iterator[str]:
    """``policy-rules serve RULES [EXTRA...]`` on a free loopback port, started in ``workdir``; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "policy_rules.cli", "serve", str(rules), "--port", str(port), "--db", str(workdir / "register.db"), *extra]
    env = {**os.environ, "POLICY_RULES_TOKENS": ""}
    log = (workdir / "server.log").open("w")
    server = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start: " + (workdir / "server.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def printed_token(workdir: Path) -> str:
    """The token ``serve`` made for itself, from the workbench address it printed."""
    found = re.search(r"/\?token=([A-Za-z0-9_-]+)$", (workdir / "server.log").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, "the server printed no workbench address with a token"
    return found.group(1)


def record_override(page: Any, decision: str, outcome: str, reason: str, by: str) -> None:
    """On the Register page: open a recorded decision and record an override of it, as an officer would."""
    page.get_by_role("link", name="Register").click()
    page.get_by_role("button", name=f"Open decision {decision}", exact=True).click()
    override = page.get_by_role("form", name="Record an override")
    override.get_by_label("Outcome decided").select_option(outcome)
    override.get_by_label("Reason").fill(reason)
    override.get_by_label("Decided by").fill(by)
    override.get_by_role("button", name="Record the override").click()
    page.get_by_text("Override recorded for decision").wait_for()
    # The decision's overrides are fetched again after the message: wait until the new one is listed.
    page.locator("#overrides li").filter(has_text=f"by {by}:").first.wait_for()
