"""End to end: the web workbench in headless Chromium against a real ``policy-rules serve``.

Each test drives one page as an officer would (by the accessible names of
the interfaces contract), checks what it shows against the command line on
the same input, runs axe-core on the page (no serious or critical
violation), and checks that every request the page made went to the server.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from policy_rules.api import load_policy
from tests.support.workbench_support import BROWSER_ARGS, CHANGED, CHROMIUM, REGISTER, RULES, printed_token, record_override, running_server, write_policy

AXE = Path(__file__).resolve().parents[1].joinpath("support", "workbench_axe.min.js").read_text(encoding="utf-8")
ANSWERS = {"cost": "230", "budget": "200", "local": "yes"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workbench")


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[str]:
    rules = write_policy(workspace / "rules")
    (workspace / "examples").mkdir()
    (workspace / "examples" / "register.csv").write_text(REGISTER, encoding="utf-8")
    with running_server(rules, workspace) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    with browsing(browser, server) as opened:
        yield opened


@contextlib.contextmanager
def browsing(browser: Any, server: str) -> Iterator[Any]:
    """A page in a fresh browser context; on leaving, no request went outside ``server`` and no script error happened."""
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    outside = [url for url in requests if not (url.startswith(server + "/") or url.startswith(("blob:", "data:")))]
    assert outside == []
    assert errors == []


@pytest.fixture(scope="module")
def token(server: str, workspace: Path) -> str:
    """The token the server printed with the workbench's address, as the officer who started it has it."""
    return printed_token(workspace)


def open_page(page: Any, server: str, name: str, token: str) -> None:
    """Open a page of the workbench by the address the server printed (carrying its token), as the officer would."""
    page.goto(f"{server}/?token={token}#{name}")
    page.wait_for_selector("body[data-ready=true]")


def no_serious_violations(page: Any) -> None:
    page.evaluate(AXE)
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    assert [v for v in found if v["impact"] in ("serious", "critical")] == []


def replace_rule_text(page: Any, text: str) -> None:
    editor = page.get_by_role("textbox", name="Rule file")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def test_editor_shows_a_syntax_error_with_its_line_then_none_when_fixed(page: Any, server: str, token: str) -> None:
    open_page(page, server, "editor", token)
    problems = page.get_by_role("list", name="Problems")
    page.get_by_text("No problems.").wait_for()
    broken = RULES.replace("  then delivery is procure\n", "  then delivery is\n", 1)
    replace_rule_text(page, broken)
    item = problems.get_by_role("listitem").first
    item.wait_for()
    line = broken.splitlines().index("  then delivery is") + 1
    assert f"policy.rules: line {line + 1}" in item.inner_text() or f"policy.rules: line {line}" in item.inner_text()
    assert page.locator(".cm-lintRange-error").count() >= 1
    no_serious_violations(page)
    replace_rule_text(page, RULES.replace("rule buy_in\n  exception", "rule   buy_in\n      exception"))
    page.get_by_text("No problems.").wait_for()
    assert problems.get_by_role("listitem").count() == 0
    page.get_by_role("button", name="Format this file").click()
    page.get_by_role("status").filter(has_text="Formatted.").wait_for()
    assert "rule buy_in\n  exception to" in page.evaluate("() => [...document.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')")


def cli_json(*args: str) -> Any:
    """What ``policy-rules ARGS... --format json`` prints, read as JSON."""
    done = subprocess.run([sys.executable, "-m", "policy_rules.cli", *args, "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def cli_outcome(workspace: Path, facts: dict[str, Any]) -> str:
    path = workspace / "answers.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    return str(cli_json("evaluate", str(workspace / "rules"), str(path))["outcome"])


def test_interview_asks_only_needed_facts_and_settles_as_the_command_line_does(page: Any, server: str, token: str, workspace: Path) -> None:
    policy = load_policy(workspace / "rules")
    open_page(page, server, "interview", token)
    form = page.get_by_role("form", name="Interview")
    given: dict[str, Any] = {"service": "Parks"}
    asked: list[str] = []
    # The service's name first, whatever the rules need: the decision is recorded under it.
    form.get_by_label("What is the service's name?").fill("Parks")
    form.get_by_role("button", name="Next").click()
    # A wrong first answer, changed afterwards: Back must take it away.
    form.get_by_label("What would the service cost a year in-house?").fill("50")
    form.get_by_role("button", name="Next").click()
    form.get_by_label("What is the service's yearly budget?").wait_for()
    form.get_by_role("button", name="Back").click()
    page.wait_for_function("() => document.querySelectorAll('#answers li').length === 1")
    for _ in range(5):
        fact_line = form.locator("p.cite").filter(has_text="Fact: ")
        if fact_line.count() == 0:
            break
        fact = fact_line.inner_text().removeprefix("Fact: ").strip()
        assert fact in policy.evaluate(given).needed_facts
        asked.append(fact)
        question = policy.question(fact)
        if fact == "local":
            form.get_by_role("group", name=question).get_by_label(ANSWERS[fact], exact=True).check()
            given[fact] = True
        else:
            form.get_by_label(question).fill(ANSWERS[fact])
            given[fact] = int(ANSWERS[fact])
        form.get_by_role("button", name="Next").click()
        page.wait_for_function("n => document.querySelectorAll('#answers li').length === n", arg=len(asked) + 1)
    decision = page.get_by_role("region", name="Decision")
    decision.get_by_text("Outcome:").wait_for()
    assert asked == ["cost", "budget", "local"]
    assert policy.evaluate(given).needed_facts == ()
    outcome = cli_outcome(workspace, given)
    assert decision.get_by_text("Outcome:").inner_text() == f"Outcome: {outcome.replace('_', ' ')}; decided by local first"

    explanation = page.get_by_role("region", name="Explanation")
    local_first = explanation.locator("summary", has_text="local first → procure local: decided")
    citation = explanation.get_by_text("cites Test handbook, Local")
    assert local_first.is_visible() and citation.is_visible()
    local_first.click()
    assert not citation.is_visible()
    local_first.click()
    assert citation.is_visible()
    assert decision.get_by_role("link", name="Download the decision report").get_attribute("href").startswith("blob:")
    decision.get_by_role("button", name="Record this decision").click()
    decision.get_by_text("Recorded as decision").wait_for()
    no_serious_violations(page)


def test_impact_counts_match_the_diff_command(page: Any, server: str, token: str, workspace: Path) -> None:
    write_policy(workspace / "draft", CHANGED)
    upload = workspace / "upload.csv"
    upload.write_text(REGISTER, encoding="utf-8")
    summary = cli_json("diff", str(workspace / "rules"), str(workspace / "draft"), str(upload))["summary"]
    assert summary["changed"] > 0
    open_page(page, server, "editor", token)
    page.get_by_text("No problems.").wait_for()
    replace_rule_text(page, CHANGED)
    page.get_by_text("No problems.").wait_for()
    page.get_by_role("link", name="Impact").click()
    page.get_by_role("status").filter(has_text="Changed in the draft, not saved: policy.rules.").wait_for()
    page.get_by_text("Saving is off on this server").wait_for()
    assert page.get_by_role("form", name="Save the rules").count() == 0
    page.get_by_label("Upload a register (CSV or YAML)").set_input_files(str(upload))
    page.get_by_role("button", name="Show the impact").click()
    status = page.get_by_role("status").filter(has_text="services decided differently")
    status.wait_for()
    assert status.inner_text().startswith(f"{summary['changed']} of {summary['services']} services")
    moves = page.get_by_role("table", name="Services by outcome, saved rules to draft rules").locator("tbody tr")
    shown = sorted(tuple(moves.nth(i).locator("td").all_inner_texts()) for i in range(moves.count()))
    assert shown == sorted((m["from"].replace("_", " "), m["to"].replace("_", " "), str(m["services"])) for m in summary["by_outcome"])
    no_serious_violations(page)
    with page.expect_event("dialog") as leaving:
        page.close(run_before_unload=True)
    assert leaving.value.type == "beforeunload"  # the unsaved draft: the browser asks before the page goes
    leaving.value.dismiss()
    assert not page.is_closed()


def test_an_interview_from_a_facts_file_is_recorded_and_overridden(page: Any, server: str, token: str, workspace: Path) -> None:
    facts = workspace / "libraries.yaml"
    facts.write_text('service: "<i>Libraries</i>"\ncost: 100\nbudget: 200\n', encoding="utf-8")
    open_page(page, server, "interview", token)
    page.get_by_role("form", name="Interview").get_by_label("What is the service's name?").wait_for()
    page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(facts))
    page.get_by_text("Started from libraries.yaml: 3 fact(s) given.").wait_for()
    decision = page.get_by_role("region", name="Decision")
    assert decision.get_by_text("Outcome:").inner_text() == "Outcome: in house; decided by in house by default"
    assert page.get_by_role("form", name="Interview").get_by_role("textbox").count() == 0
    decision.get_by_role("button", name="Record this decision").click()
    made = page.get_by_text("Recorded as decision")
    made.wait_for()
    number = made.inner_text().split()[-1].rstrip(".")
    record_override(page, number, "procure", "<b>members</b> chose to buy in", "A. Officer")
    assert page.get_by_role("heading", name=f"Decision {number}: <i>Libraries</i>").is_visible()
    assert page.locator("#overrides li").first.inner_text() == "procure, by A. Officer: <b>members</b> chose to buy in"
    no_serious_violations(page)


def test_with_allow_editing_an_officer_saves_the_draft_and_the_register_says_who(browser: Any, tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    with running_server(rules, tmp_path, "--allow-editing") as base, browsing(browser, base) as page:
        token = printed_token(tmp_path)
        unsigned = urllib.request.Request(base + "/workbench/save", data=b"{}", headers={"Content-Type": "application/json"}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned)
        assert refused.value.code == 401  # another account on this machine cannot save through loopback
        page.goto(f"{base}/?token={token}#editor")
        page.wait_for_selector("body[data-ready=true]")
        assert page.url == f"{base}/#editor" and page.get_by_label("Access token (from the address the server printed)").input_value() == token
        page.get_by_text("No problems.").wait_for()
        replace_rule_text(page, CHANGED)
        page.get_by_text("No problems.").wait_for()
        page.get_by_role("link", name="Impact").click()
        page.get_by_role("status").filter(has_text="Changed in the draft, not saved: policy.rules.").wait_for()
        form = page.get_by_role("form", name="Save the rules")
        form.get_by_label("What the change does, and why").fill("budgets may run <b>20%</b> over")
        form.get_by_label("Saved by").fill("A. Officer")
        form.get_by_role("button", name="Save the rules").click()
        page.get_by_role("status").filter(has_text="Saved policy.rules as save 1, by A. Officer.").wait_for()
        assert (rules / "policy.rules").read_text(encoding="utf-8") == CHANGED
        saves = page.get_by_role("table", name="Rule saves, newest first").locator("tbody tr")
        saves.first.wait_for()
        assert saves.first.locator("td").all_inner_texts()[1:] == ["A. Officer (local)", "policy.rules", "budgets may run <b>20%</b> over", "Show the changes"]
        page.get_by_role("status").filter(has_text="The draft is the same as the saved rules.").wait_for()
        page.get_by_role("button", name="Show the changes of save 1").click()
        changes = page.get_by_role("region", name="Changes of save 1, by A. Officer: budgets may run <b>20%</b> over")
        changes.wait_for()
        assert changes.locator(".diff-removed").all_inner_texts() == ["-  cost is at most budget\n"]
        assert changes.locator(".diff-added").all_inner_texts() == ["+  cost is at most budget * 120%\n"]
        no_serious_violations(page)
        with urllib.request.urlopen(base + "/healthz") as answer:
            assert json.loads(answer.read())["policy"]["digest"] == load_policy(rules).info.digest
    listed = cli_json("register", "saves", "--db", str(tmp_path / "register.db"))
    assert [(s["by"], s["recorded_by"], s["reason"]) for s in listed] == [("A. Officer", "local", "budgets may run <b>20%</b> over")]


def test_the_register_page_finds_decisions_by_service_and_outcome_and_pages_older_ones(browser: Any, tmp_path: Path) -> None:
    rules = write_policy(tmp_path / "rules")
    with running_server(rules, tmp_path) as base, browsing(browser, base) as page:
        for number in range(55):
            facts = {"service": f"Service {number}", "cost": 100 + 10 * number, "budget": 300, "local": number % 2 == 0}
            request = urllib.request.Request(
                base + "/v1/decisions",
                data=json.dumps({"facts": facts, "as_of": "2025-01-01"}).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {printed_token(tmp_path)}"},
            )
            with urllib.request.urlopen(request) as answer:
                assert answer.status == 201
        open_page(page, base, "register", printed_token(tmp_path))
        rows = page.get_by_role("table", name="Recorded decisions, newest first").locator("tbody tr")
        page.get_by_role("status").filter(has_text="50 decision(s) shown; older ones are on the next page.").wait_for()
        assert rows.first.locator("td").nth(1).inner_text() == "Service 54"
        page.get_by_role("button", name="Show older decisions").click()
        page.get_by_role("status").filter(has_text="55 decision(s) shown.").wait_for()
        assert rows.count() == 55 and rows.last.locator("td").nth(1).inner_text() == "Service 0"
        assert page.get_by_role("button", name="Show older decisions").count() == 0
        find = page.get_by_role("form", name="Find decisions")
        find.get_by_label("Service (exact name; optional)").fill("Service 7")
        find.get_by_role("button", name="Show the decisions").click()
        page.get_by_role("status").filter(has_text="1 decision(s) shown.").wait_for()
        assert rows.count() == 1 and rows.first.locator("td").nth(2).inner_text() == "in house"  # 170 within a budget of 300
        find.get_by_label("Service (exact name; optional)").fill("")
        find.get_by_label("Outcome").select_option("procure_local")
        find.get_by_role("button", name="Show the decisions").click()
        # Over budget (cost above 300 from Service 21 on) and local (even numbers): 22, 24, ..., 54.
        page.get_by_role("status").filter(has_text="17 decision(s) shown.").wait_for()
        assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == sorted(f"Service {n}" for n in range(22, 55, 2))
        no_serious_violations(page)
