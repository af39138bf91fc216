"""In a real browser: web pages of other origins, and a page rebinding its own name to 127.0.0.1, write nothing to the register or the rules.

A page the officer happens to open while ``policy-rules serve --allow-editing``
runs tries what such pages can: ``fetch`` without CORS (a "simple" text/plain
POST, which browsers send without asking), ``fetch`` of JSON (which needs a
preflight), and plain HTML forms posted into hidden frames. The rebinding page
is served under a name Chromium is told resolves to 127.0.0.1, so that its
requests reach the service as the same origin, as after a DNS rebinding.
Chromium's own guard against public pages reaching loopback (Private
Network Access) is switched off, as other browsers have none: what is tested
is the server's defence. Afterwards the command line, reading the database itself, finds nothing
recorded or saved, and the rule file is as it was.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.support.workbench_support import BROWSER_ARGS, CHROMIUM, RULES, printed_token, running_server, write_policy

REBOUND = "attacker.example"
FACTS = {"service": "Planted", "cost": 1, "budget": 2, "local": True}

ATTACK = """<!doctype html>
<html><head><title>Attack</title></head><body>
<iframe name="record-frame"></iframe><iframe name="save-frame"></iframe>
<form id="record" method="post" enctype="text/plain" action="TARGET/v1/decisions" target="record-frame">
  <input name='{"facts": FACTS, "padding": "' value='"}'>
</form>
<form id="save" method="post" enctype="text/plain" action="TARGET/workbench/save" target="save-frame">
  <input name='{"files": {"policy.rules": "planted"}, "base": "0", "reason": "r", "by": "x", "padding": "' value='"}'>
</form>
<script>
const target = "TARGET";
const record = JSON.stringify({facts: FACTS});
const save = JSON.stringify({files: {"policy.rules": "planted"}, base: "0", reason: "r", by: "x"});
async function attempt(name, path, options) {
  try {
    const answer = await fetch(target + path, options);
    return [name, answer.type === "opaque" ? "opaque" : answer.status];
  } catch (error) {
    return [name, "refused by the browser"];
  }
}
async function attack() {
  const results = [];
  results.push(await attempt("simple record", "/v1/decisions", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: record}));
  results.push(await attempt("simple save", "/workbench/save", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: save}));
  results.push(await attempt("json record", "/v1/decisions", {method: "POST", headers: {"Content-Type": "application/json"}, body: record}));
  results.push(await attempt("json save", "/workbench/save", {method: "POST", headers: {"Content-Type": "application/json"}, body: save}));
  results.push(await attempt("register read", "/v1/decisions", {}));
  document.getElementById("record").submit();
  document.getElementById("save").submit();
  window.results = results;
}
attack();
</script>
</body></html>
"""


def attack_page(target: str) -> str:
    return ATTACK.replace("TARGET", target).replace("FACTS", json.dumps(FACTS))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Nothing on stderr: the test reads what the browser saw, not this server's log."""


@contextlib.contextmanager
def another_origin(folder: Path, target: str) -> Iterator[str]:
    """A web server of its own on another loopback port serving the attack page; yields the page's address."""
    folder.mkdir()
    (folder / "attack.html").write_text(attack_page(target), encoding="utf-8")
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/attack.html"
    finally:
        server.shutdown()
        server.server_close()


def cli(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "policy_rules.cli", *args, "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def run_attack(browser: Any, address: str, service: str, expected: int, route_page: str | None = None) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """Open the attack page, wait for the ``expected`` requests it makes of the service to end; what its script saw, and how each ended.

    A request ends with the service's status, or with ``"failed"`` when the
    browser would not give the page its answer (a CORS refusal).
    """
    context = browser.new_context()
    ended: list[tuple[str, str, Any]] = []
    context.on("response", lambda r: ended.append((r.request.method, r.url.removeprefix(service), r.status)) if r.url.startswith(service) else None)
    context.on("requestfailed", lambda r: ended.append((r.method, r.url.removeprefix(service), "failed")) if r.url.startswith(service) else None)
    if route_page is not None:
        context.route(address, lambda route: route.fulfill(status=200, content_type="text/html", body=route_page))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(address)
    page.wait_for_function("window.results !== undefined")
    results = dict(page.evaluate("window.results"))
    deadline = time.monotonic() + 15
    while len([e for e in ended if e[1] != "/"]) < expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)  # time for any request beyond those expected to show
    context.close()
    return results, sorted((e for e in ended if e[1] != "/"), key=str)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    with sync_playwright() as p:
        rebinding = f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"
        no_private_network_guard = "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks"
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[*BROWSER_ARGS, rebinding, no_private_network_guard])
        yield launched
        launched.close()


def test_pages_of_other_origins_and_a_rebinding_page_write_nothing(browser: Any, tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    with running_server(rules, tmp_path, "--allow-editing") as base:
        port = base.rsplit(":", 1)[1]
        with another_origin(tmp_path / "attacker", base) as address:
            results, answers = run_attack(browser, address, base, 9)
        assert results == {
            "simple record": "opaque",
            "simple save": "opaque",
            "json record": "refused by the browser",
            "json save": "refused by the browser",
            "register read": "refused by the browser",
        }
        answered = [e for e in answers if e[2] != "failed"]
        assert answered == sorted([("POST", "/v1/decisions", 403), ("POST", "/workbench/save", 403)] * 2, key=str)  # the simple fetches and the forms

        rebound = f"http://{REBOUND}:{port}"
        results, answers = run_attack(browser, rebound + "/", rebound, 7, route_page=attack_page(""))
        assert results == {"simple record": 400, "simple save": 400, "json record": 400, "json save": 400, "register read": 400}
        assert answers == sorted([("GET", "/v1/decisions", 400)] + [("POST", "/v1/decisions", 400), ("POST", "/workbench/save", 400)] * 3, key=str)

        assert cli("register", "list", "--db", str(tmp_path / "register.db")) == []
        assert cli("register", "saves", "--db", str(tmp_path / "register.db")) == []
        assert (rules / "policy.rules").read_text(encoding="utf-8") == RULES
        token = printed_token(tmp_path)
        made = httpx.post(base + "/v1/decisions", json={"facts": FACTS}, headers={"authorization": f"Bearer {token}"})
        assert made.status_code == 201  # the officer's own request, with the printed token, is recorded
        assert [entry["service"] for entry in cli("register", "list", "--db", str(tmp_path / "register.db"))] == ["Planted"]
