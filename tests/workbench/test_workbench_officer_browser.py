"""The workbench as a new officer meets it, in headless Chromium against a real ``policy-rules serve``.

A policy of its own in two files, with a list of parts whose fields are of
every kind a control exists for (yes/no, money, date, listed values, whole
number) and a first-of table: the interview asks a part's fields with the
right control and the service's name first, and records the decision under
that name; the pages speak in questions, words, pounds and en-GB dates; the
editor says how the keyboard works in it and the Problems status does not
chatter; a table is shown flat in the explanation, and problems are listed
errors first, in file order, each opening its own file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.workbench_support import CHANGED, RULES, printed_token, running_server, write_policy
from tests.workbench.test_workbench_browser import browser, browsing, no_serious_violations, replace_rule_text  # noqa: F401  (browser is a fixture)

#: The small policy's facts (service, cost, budget, local) and a list of parts.
FACTS = (
    """policy "Workbench parts policy"
  version "1"
  service name service
  outcome delivery
  element outcomes part_delivery

document handbook "Test handbook"
  sections "Money", "Parts"

"""
    + RULES[RULES.index("fact service is text") : RULES.index("define affordable")]
    + """record part
  means "one part of the service"
  field name is text
    means "the part's name"
  field specialist is yes/no
    means "the part is specialist work"
    asks "Is this part specialist work?"
  field contract_cost is money
    means "what the part's contract costs a year"
    asks "What does the part's contract cost a year?"
  field contract_end is date
    means "when the part's contract ends"
    asks "When does the part's contract end?"
  field kind is one of cleaning, lift_repairs, catering
    means "the kind of work"
    asks "What kind of work is the part?"
  field staff is whole number
    means "the staff on the part"
    asks "How many staff work on the part?"

fact parts is list of part
  means "the parts of the service"
  default empty
"""
)

DELIVERY = """define affordable as
  cost is at most budget
  because "in-house delivery must fit the budget"
  cites handbook section "Money"

decision delivery
  means "how the service is delivered"
  outcomes in_house, procure, procure_local, hybrid

table delivery_route for delivery, first that applies
  row local_first
    when not affordable and local
    then procure_local
    because "when buying in, a local provider comes first"
    cites handbook section "Money"
  row buy_in
    when not affordable
    then procure
    because "a service the council cannot afford is bought in"
    cites handbook section "Money"
  row specialist_parts_outside
    when any part in parts where part.specialist
    then hybrid
    because "specialist parts are delivered by others"
    cites handbook section "Parts"
  otherwise in_house_by_default
    then in_house
    because "the council runs services itself unless there is a reason not to"
    cites handbook section "Money"

decision part_delivery for each part in parts
  means "how a part is delivered"
  outcomes in_house, external

rule part_in_house
  by default part_delivery is in_house
  because "parts are delivered in-house by default"
  cites handbook section "Parts"

rule big_specialist_contract_outside
  exception to part_in_house
  when part.specialist and part.contract_cost is above £100,000 and part.contract_end is after 2027-01-01
   and part.kind is one of (lift_repairs, catering) and part.staff is at least 3
  then part_delivery is external
  because "a large specialist contract running on stays with its provider"
  cites handbook section "Parts"
"""

#: A service whose second part says nothing but its name: its fields are asked part by part.
ESTATES = """cost: £100
budget: £200
local: no
parts:
  - name: Cleaning
    specialist: no
  - name: Lift maintenance
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("officer")
    rules = where / "rules"
    rules.mkdir()
    (rules / "10-facts.rules").write_text(FACTS, encoding="utf-8")
    (rules / "50-delivery.rules").write_text(DELIVERY, encoding="utf-8")
    (where / "estates.yaml").write_text(ESTATES, encoding="utf-8")
    (where / "named.yaml").write_text("service: Estates\n" + ESTATES, encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[str]:
    with running_server(workspace / "rules", workspace) as base:
        yield base


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811  (browser is the fixture imported above)
    with browsing(browser, server) as opened:
        yield opened


def open_page(page: Any, server: str, workspace: Path, name: str, token: bool = True) -> None:
    page.goto(f"{server}/?token={printed_token(workspace)}#{name}" if token else f"{server}/#{name}")
    page.wait_for_selector("body[data-ready=true]")


def answer_count(page: Any, count: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('#answers li').length === n", arg=count)


def next_question(page: Any, count: int) -> None:
    page.get_by_role("form", name="Interview").get_by_role("button", name="Next").click()
    answer_count(page, count)


def answer_the_lift_maintenance_part(page: Any, before: int) -> None:
    """The five fields of the second part, each with its own control; ``before`` answers were given already."""
    form = page.get_by_role("form", name="Interview")
    part = "Part 2 (Lift maintenance): "
    assert form.get_by_text("This answer could change:").inner_text() == "This answer could change: specialist parts outside, big specialist contract outside"
    form.get_by_role("group", name=part + "Is this part specialist work?").get_by_label("yes", exact=True).check()
    next_question(page, before + 1)
    cost = form.get_by_role("textbox", name=part + "What does the part's contract cost a year?")
    assert cost.get_attribute("inputmode") == "decimal"
    cost.fill("£150,000")
    next_question(page, before + 2)
    end = form.get_by_role("textbox", name=part + "When does the part's contract end?")
    end.fill("31/3/2027")
    next_question(page, before + 3)
    kinds = form.get_by_role("group", name=part + "What kind of work is the part?")
    assert kinds.locator("label").all_inner_texts() == ["cleaning", "lift repairs", "catering"]
    assert kinds.get_by_role("radio").count() == 3
    kinds.get_by_label("lift repairs", exact=True).check()
    next_question(page, before + 4)
    form.get_by_role("spinbutton", name=part + "How many staff work on the part?").fill("4")
    next_question(page, before + 5)


def test_a_parts_fields_are_asked_each_with_its_own_control_until_the_decision_settles(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "interview")
    page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(workspace / "named.yaml"))
    page.get_by_text("Started from named.yaml").wait_for()
    answer_the_lift_maintenance_part(page, 0)
    decision = page.get_by_role("region", name="Decision")
    assert decision.get_by_text("Outcome:").inner_text().startswith("Outcome: hybrid")
    assert page.locator("#answers li").all_inner_texts() == [
        "Part 2 (Lift maintenance): Is this part specialist work? yes Change",
        "Part 2 (Lift maintenance): What does the part's contract cost a year? £150,000 Change",
        "Part 2 (Lift maintenance): When does the part's contract end? 31 March 2027 Change",
        "Part 2 (Lift maintenance): What kind of work is the part? lift repairs Change",
        "Part 2 (Lift maintenance): How many staff work on the part? 4 Change",
    ]
    assert page.get_by_role("alert").count() == 0
    explanation = page.get_by_role("region", name="Explanation")
    explanation.get_by_text("part delivery for Part 2 (Lift maintenance): external, decided by big specialist contract outside").wait_for()
    shown = page.locator("#explanation-tree li:visible").all_inner_texts()
    assert "Part 2 (Lift maintenance): Is this part specialist work? yes" in shown and "Part 1 (Cleaning): Is this part specialist work? no" in shown
    assert [t for t in page.locator("#explanation-tree summary").all_inner_texts() if "_" in t] == []  # names as words
    no_serious_violations(page)


def test_a_date_that_is_not_a_day_is_refused_in_words_and_asked_again(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "interview")
    page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(workspace / "estates.yaml"))
    page.get_by_text("Started from estates.yaml").wait_for()
    form = page.get_by_role("form", name="Interview")
    form.get_by_role("textbox", name="What is the service's name?").fill("Estates")
    next_question(page, 1)
    form.get_by_role("group", name="Part 2 (Lift maintenance): Is this part specialist work?").get_by_label("yes", exact=True).check()
    next_question(page, 2)
    form.get_by_role("textbox").fill("£150,000")
    next_question(page, 3)
    end = form.get_by_role("textbox", name="Part 2 (Lift maintenance): When does the part's contract end?")
    end.fill("31/2/2027")
    form.get_by_role("button", name="Next").click()
    form.get_by_role("alert").filter(has_text="31/2/2027 is not a date: write the day, month and year, for example 31/3/2027").wait_for()
    assert page.locator("#answers li").count() == 3
    end.fill("1/2/2028")
    next_question(page, 4)


def cli_json(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "policy_rules.cli", *args, "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_an_interview_from_a_file_without_a_name_asks_it_first_and_records_the_decision_under_it(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "interview")
    form = page.get_by_role("form", name="Interview")
    form.get_by_role("textbox", name="What is the service's name?").wait_for()  # from nothing, the name comes first too
    page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(workspace / "estates.yaml"))
    page.get_by_text("Started from estates.yaml: 4 fact(s) given.").wait_for()
    asked = form.get_by_role("textbox", name="What is the service's name?")
    asked.fill("Estates <north>")
    next_question(page, 1)
    answer_the_lift_maintenance_part(page, 1)
    decision = page.get_by_role("region", name="Decision")
    decision.get_by_role("button", name="Record this decision").click()
    made = decision.get_by_text("Recorded as decision")
    made.wait_for()
    number = int(made.inner_text().split()[-1].rstrip("."))
    recorded = cli_json("register", "list", "--db", str(workspace / "register.db"))
    (mine,) = [d for d in recorded if d["id"] == number]
    assert (mine["service"], mine["outcome"]) == ("Estates <north>", "hybrid")
    page.get_by_role("link", name="Register").click()
    row = page.get_by_role("table", name="Recorded decisions, newest first").locator("tbody tr").first
    row.wait_for()
    assert row.locator("td").all_inner_texts()[:3] == [str(number), "Estates <north>", "hybrid"]


LONG_DATE = r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}"


def test_officer_pages_show_questions_words_pounds_and_en_gb_dates(browser: Any, server: str, workspace: Path) -> None:  # noqa: F811
    with browsing(browser, server) as page:
        page.context.set_extra_http_headers({"Accept-Language": "en-US"})
        open_page(page, server, workspace, "interview")
        form = page.get_by_role("form", name="Interview")
        form.get_by_role("textbox", name="What is the service's name?").fill("Parks")
        next_question(page, 1)
        form.get_by_role("textbox", name="What would the service cost a year in-house?").fill("1200000")
        next_question(page, 2)
        form.get_by_role("textbox", name="What is the service's yearly budget?").fill("£1,000,000.50")
        next_question(page, 3)
        assert form.get_by_text("This answer could change:").inner_text() == "This answer could change: local first"
        form.get_by_role("group", name="Can a local provider deliver the service?").get_by_label("yes", exact=True).check()
        next_question(page, 4)
        assert page.locator("#answers li").all_inner_texts()[1:3] == [
            "What would the service cost a year in-house? £1,200,000 Change",
            "What is the service's yearly budget? £1,000,000.50 Change",
        ]
        decision = page.get_by_role("region", name="Decision")
        assert decision.get_by_text("Outcome:").inner_text() == "Outcome: procure local; decided by local first"
        explanation = page.get_by_role("region", name="Explanation")
        assert page.locator("#explanation-tree li:visible").filter(has_text="Can a local provider deliver the service? yes").count() >= 1
        assert explanation.get_by_text("What would the service cost a year in-house? £1,200,000").count() >= 1
        facts = explanation.locator("summary", has_text="Facts:")
        assert re.fullmatch(rf"Facts: 5 given, 0 not known, as at {LONG_DATE}", facts.inner_text())
        decision.get_by_role("button", name="Record this decision").click()
        decision.get_by_text("Recorded as decision").wait_for()

        page.get_by_role("link", name="Register").click()
        row = page.get_by_role("table", name="Recorded decisions, newest first").locator("tbody tr").first
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        assert cells[1:3] == ["Parks", "procure local"]
        assert re.fullmatch(LONG_DATE + r", \d{2}:\d{2}", cells[3]), cells[3]
        assert page.get_by_role("form", name="Find decisions").get_by_label("Outcome").locator("option").all_inner_texts() == [
            "(any)",
            "in house",
            "procure",
            "procure local",
            "hybrid",
        ]

        page.get_by_role("link", name="Impact").click()
        impact = page.get_by_role("form", name="Impact")
        (workspace / "register.csv").write_text("service,cost,budget,local\nParks,230,200,yes\n", encoding="utf-8")
        impact.get_by_label("Upload a register (CSV or YAML)").set_input_files(str(workspace / "register.csv"))
        as_at = impact.get_by_role("textbox", name="Decide as at (optional)")
        as_at.fill("7/12/2026")
        impact.get_by_role("button", name="Show the impact").click()
        page.get_by_role("status").filter(has_text="as at 7 December 2026").wait_for()
        no_serious_violations(page)


def test_the_editor_says_how_tab_works_and_the_problems_status_speaks_only_of_results(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "editor")
    page.get_by_text("No problems.").wait_for()
    editor = page.get_by_role("textbox", name="Rule file")
    described = editor.get_attribute("aria-describedby")
    assert described and page.locator(f"#{described}").inner_text() == (
        "In the editor, Tab indents the line. To leave the editor with the keyboard, press Esc, then Tab (or Shift+Tab)."
    )
    page.evaluate(
        """() => {
        window.statusTexts = [];
        new MutationObserver(() => window.statusTexts.push(document.getElementById('problems-status').textContent))
          .observe(document.getElementById('problems-status'), {childList: true, characterData: true, subtree: true});
    }"""
    )
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# a comment")
    page.wait_for_timeout(1500)  # past the pause after typing, and its check
    assert page.evaluate("() => window.statusTexts") == []  # the result did not change: nothing said
    page.keyboard.type("\nrule")
    page.get_by_role("status").filter(has_text="1 error").wait_for()
    texts = page.evaluate("() => window.statusTexts")
    assert texts and all("Checking" not in t for t in texts) and texts[-1].startswith("1 error")
    editor.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.cm-editor') === null")


def test_a_table_is_flat_in_the_explanation(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "interview")
    page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(workspace / "estates.yaml"))
    page.get_by_text("Started from estates.yaml").wait_for()
    explanation = page.get_by_role("region", name="Explanation")
    table = explanation.locator("details", has=page.locator("summary", has_text="table delivery route, first that applies"))
    table.first.wait_for()
    rows = explanation.locator("summary").filter(has_text=re.compile(r"^(row \d|otherwise)"))
    assert [r.split(":")[0] for r in rows.all_inner_texts()] == [
        "row 1 local first → procure local",
        "row 2 buy in → procure",
        "row 3 specialist parts outside → hybrid",
        "otherwise in house by default → in house",
    ]
    # Every row sits in the table's fold, itself in the decision's: none behind folds of the rows before it.
    depths = page.evaluate(
        """() => [...document.querySelectorAll('#explanation-tree summary')].filter(s => /^(row \\d|otherwise)/.test(s.textContent))
        .map(s => { let n = 0;
          for (let d = s.parentElement.parentElement; d && d.id !== 'explanation-tree'; d = d.parentElement) if (d.tagName === 'DETAILS') n++;
          return n; })"""
    )
    assert depths == [2, 2, 2, 2]
    assert rows.first.is_visible()


def test_problems_are_listed_errors_first_in_file_order_and_each_opens_its_own_file(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "editor")
    page.get_by_text("No problems.").wait_for()
    page.get_by_label("File", exact=True).select_option(label="50-delivery.rules")
    # `local` misspelt: an error here, and a warning in 10-facts.rules that `local` is never used.
    replace_rule_text(page, DELIVERY.replace("not affordable and local\n", "not affordable and locl\n"))
    problems = page.get_by_role("list", name="Problems").get_by_role("listitem")
    page.get_by_role("status").filter(has_text="1 error(s), 1 warning(s).").wait_for()
    texts = problems.all_inner_texts()
    error_line = DELIVERY.splitlines().index("    when not affordable and local") + 1
    warning_line = FACTS.splitlines().index("fact local is yes/no") + 1
    assert texts[0].startswith(f"50-delivery.rules: line {error_line}, column 29: `locl` is not declared")
    assert texts[1].startswith(f"10-facts.rules: line {warning_line}, column 1: fact `local` is declared but never used")
    problems.nth(1).get_by_role("button").click()
    assert page.get_by_label("File", exact=True).input_value().endswith("10-facts.rules")
    assert page.locator(".cm-activeLine").inner_text() == "fact local is yes/no"
    page.get_by_role("list", name="Problems").get_by_role("listitem").nth(0).get_by_role("button").click()
    assert page.get_by_label("File", exact=True).input_value().endswith("50-delivery.rules")
    assert "locl" in page.locator(".cm-activeLine").inner_text()


def test_without_its_address_the_register_page_says_to_open_the_address_the_server_printed(page: Any, server: str, workspace: Path) -> None:
    open_page(page, server, workspace, "register", token=False)
    status = page.get_by_role("status").filter(has_text="register")
    status.wait_for()
    assert status.inner_text() == (
        "The register and saving are open only to whoever started the server: open the workbench at the address it printed when it started "
        "(it ends in ?token=…), or paste the token from that address into Access token."
    )
    assert "Bearer" not in page.locator("main").inner_text() and "header" not in page.locator("main").inner_text()


def test_a_save_refused_for_files_changed_on_disk_offers_to_take_them_up_and_then_saves(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    rules = write_policy(tmp_path / "rules")
    with running_server(rules, tmp_path, "--allow-editing") as base, browsing(browser, base) as page:
        page.goto(f"{base}/?token={printed_token(tmp_path)}#editor")
        page.wait_for_selector("body[data-ready=true]")
        page.get_by_text("No problems.").wait_for()
        replace_rule_text(page, CHANGED)
        page.get_by_text("No problems.").wait_for()
        outside = RULES + "\n# edited in a text editor\n"
        (rules / "policy.rules").write_text(outside, encoding="utf-8")
        page.get_by_role("link", name="Impact").click()
        form = page.get_by_role("form", name="Save the rules")
        form.get_by_label("What the change does, and why").fill("budgets may run 20% over")
        form.get_by_label("Saved by").fill("A. Officer")
        form.get_by_role("button", name="Save the rules").click()
        refused = page.locator("#save-status").filter(has_text="Not saved:")
        refused.wait_for()
        assert "restart" not in refused.inner_text() and "Take up the files on disk" in refused.inner_text()
        page.get_by_role("button", name="Take up the files on disk").click()
        changes = page.get_by_role("region", name="Changed on disk since the server read the rules")
        changes.wait_for()
        assert changes.locator(".diff-added").all_inner_texts() == ["+\n", "+# edited in a text editor\n"]
        taken = page.get_by_role("status").filter(has_text="The server now decides with the files on disk")
        assert taken.inner_text().endswith(
            "policy.rules was changed both on disk and in your draft: your draft of it is kept, so make the changes shown below again in it before you save."
        )
        assert page.get_by_role("button", name="Take up the files on disk").count() == 0
        page.get_by_role("link", name="Editor").click()
        page.get_by_role("textbox", name="Rule file").click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n# edited in a text editor\n")
        page.get_by_text("No problems.").wait_for()
        page.get_by_role("link", name="Impact").click()
        form.get_by_role("button", name="Save the rules").click()
        page.get_by_role("status").filter(has_text="Saved policy.rules as save 1, by A. Officer.").wait_for()
        assert (rules / "policy.rules").read_text(encoding="utf-8") == CHANGED + "\n# edited in a text editor\n"
        no_serious_violations(page)


HILLINGDON = Path(__file__).resolve().parents[2] / "rules" / "hillingdon-dfg"
MRS_A = """application: Level access shower for Mrs A
disabled_person: yes
date_of_birth: 1950-03-14
intends_to_stay_five_years: yes
tenure: owner_occupier
passport_benefit: no
assessed_contribution: 2500
cost_of_works: 12000
works:
  - {name: Level access shower, purpose: washing_facilities, recommended: yes, practicable: yes}
"""


def test_the_interview_shows_results_and_calculations_and_the_impact_shows_money_totals(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    # The Hillingdon grant: results with the officer's formatting, the calculation in the explanation, and the totals of a draft's change.
    rules = tmp_path / "rules"
    shutil.copytree(HILLINGDON, rules)
    (tmp_path / "mrs-a.yaml").write_text(MRS_A, encoding="utf-8")
    register = Path(__file__).resolve().parents[2] / "examples" / "hillingdon-register.yaml"
    with running_server(rules, tmp_path) as base, browsing(browser, base) as page:
        open_page(page, base, tmp_path, "interview")
        page.get_by_label("Start from a facts file (optional; its first service)").set_input_files(str(tmp_path / "mrs-a.yaml"))
        decision = page.get_by_role("region", name="Decision")
        page.get_by_text("Started from mrs-a.yaml: 9 fact(s) given.").wait_for()
        results = decision.get_by_role("list", name="Results")
        results.get_by_text("grant amount: £9,500").wait_for()
        shown = ["grant amount: £9,500", "repayment: £0", "covered works cost: unknown", "payable works: unknown"]
        assert results.get_by_role("listitem").all_inner_texts() == shown
        calculation = page.get_by_role("region", name="Explanation").locator(".calculation").filter(has_text="grant_amount =")
        assert calculation.inner_text() == (
            "grant_amount = the smaller of (if means_test_exempt no then cost_of_works £12,000 else cost_of_works £12,000"
            " - assessed_contribution £2,500) and maximum_grant £30,000 = £9,500"
        )
        page.get_by_role("button", name="Start again").click()
        page.get_by_role("form", name="Interview").get_by_label("What is the name or reference of the application?").wait_for()
        page.get_by_role("link", name="Editor").click()
        page.get_by_label("File", exact=True).select_option(label="20-values.rules")
        page.get_by_text("No problems.").wait_for()
        values = (rules / "20-values.rules").read_text(encoding="utf-8")
        replace_rule_text(page, values.replace("value £30,000", "value £35,000"))
        page.get_by_text("No problems.").wait_for()
        page.get_by_role("link", name="Impact").click()
        page.get_by_label("Upload a register (CSV or YAML)").set_input_files(str(register))
        page.get_by_role("button", name="Show the impact").click()
        page.get_by_role("status").filter(has_text="2 of 4 services decided differently").wait_for()
        totals = page.get_by_role("table", name="Money results over the register, saved rules to draft rules").locator("tbody tr")
        assert [totals.nth(i).locator("td").all_inner_texts() for i in range(totals.count())] == [
            ["grant amount", "£69,500", "£79,500", "+£10,000", "0"],
            ["repayment", "£7,000", "£7,000", "+£0", "0"],
            ["covered works cost", "£50,000", "£50,000", "+£0", "1"],
            ["payable works", "£42,000", "£47,000", "+£5,000", "2"],
        ]
        changes = page.get_by_role("table", name="Services decided differently").locator("tbody tr")
        assert changes.nth(0).locator("td").all_inner_texts()[2:] == [
            "grant amount: £30,000, repayment: £0, covered works cost: £38,000, payable works: £30,000",
            "grant amount: £35,000, repayment: £0, covered works cost: £38,000, payable works: £35,000",
        ]
        no_serious_violations(page)
