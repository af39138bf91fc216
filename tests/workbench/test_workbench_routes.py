"""The workbench's server routes, without a browser: the page and its headers, the rule files, the report, the impact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from policy_rules.api import policy_from_sources
from policy_rules.service.app import create_app
from policy_rules.store import DecisionRegister
from tests.support.workbench_support import CHANGED, REGISTER, RULES


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    policy = policy_from_sources({"policy.rules": RULES}, "test")
    with DecisionRegister(str(tmp_path / "register.db")) as register, TestClient(create_app(policy, register), base_url="http://127.0.0.1") as made:
        yield made


def test_the_page_allows_only_the_server_itself(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    assert 'aria-label="Interview"' in page.text
    for asset in ("editor.min.js", "workbench.js", "workbench.css"):
        assert client.get(f"/workbench/static/{asset}").status_code == 200


def test_the_rule_files_are_those_loaded(client: TestClient) -> None:
    assert client.get("/workbench/rules").json()["files"] == {"policy.rules": RULES}


def test_the_report_is_html_with_the_facts_escaped(client: TestClient) -> None:
    answer = client.post("/workbench/report", json={"facts": {"service": "<script>x</script>", "cost": 10, "budget": 20}})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<script>x" not in answer.text and "&lt;script&gt;x" in answer.text


def test_impact_counts_the_services_the_draft_changes(client: TestClient) -> None:
    draft = {"files": {"policy.rules": CHANGED}, "register_name": "r.csv", "register_text": REGISTER, "as_of": "2025-01-01"}
    answer = client.post("/workbench/impact", json=draft)
    assert answer.status_code == 200
    found = answer.json()
    # Parks (230 of 200, local) and Meals (210 of 200) fit within 120% of their budgets; Cleaning and Transport do not.
    assert found["summary"]["services"] == 6 and found["summary"]["changed"] == 2
    assert sorted((m["from"], m["to"], m["services"]) for m in found["summary"]["by_outcome"]) == [("procure", "in_house", 1), ("procure_local", "in_house", 1)]
    assert sorted(c["service"] for c in found["changes"]) == ["Meals", "Parks"]


def test_impact_refuses_drafts_with_errors_and_unknown_registers(client: TestClient) -> None:
    broken = client.post("/workbench/impact", json={"files": {"policy.rules": "rule"}, "register_name": "r.csv", "register_text": REGISTER})
    assert broken.status_code == 422 and broken.json()["error"]["location"] == "files"
    missing = client.post("/workbench/impact", json={"files": {"policy.rules": RULES}, "example": "nowhere.csv"})
    assert missing.status_code == 404
    wrong = client.post("/workbench/impact", json={"files": {"policy.rules": RULES}, "register_name": "r.exe", "register_text": "x"})
    assert wrong.status_code == 422 and "r.exe" in wrong.json()["error"]["message"]


def test_impact_names_a_misspelt_column_once_with_the_nearest_fact(client: TestClient) -> None:
    misspelt = REGISTER.replace("service,cost,budget,local", "service,cost,budjet,local")
    answer = client.post("/workbench/impact", json={"files": {"policy.rules": CHANGED}, "register_name": "r.csv", "register_text": misspelt})
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "the column `budjet` in the header row is not a fact of this policy; did you mean `budget`?" in message
    assert message.count("budjet") == 1


def test_format_lays_a_file_out_as_fmt_does_and_refuses_one_with_errors(client: TestClient) -> None:
    from policy_rules.language.format import format_text

    messy = RULES.replace("rule buy_in\n  exception", "rule   buy_in\n      exception")
    done = client.post("/workbench/format", json={"name": "policy.rules", "text": messy})
    assert done.status_code == 200 and done.json()["text"] == format_text(messy, "policy.rules") != messy
    refused = client.post("/workbench/format", json={"name": "policy.rules", "text": "rule"})
    assert refused.status_code == 422 and refused.json()["error"]["location"] == "policy.rules"


def test_a_facts_file_gives_its_first_service_as_json(client: TestClient) -> None:
    yaml_file = client.post("/workbench/facts", json={"name": "one.yaml", "text": "service: Parks\ncost: 230\nstarted: 2024-04-01\n"})
    assert yaml_file.json() == {"facts": {"service": "Parks", "cost": 230, "started": "2024-04-01"}}
    csv_file = client.post("/workbench/facts", json={"name": "many.csv", "text": REGISTER})
    assert csv_file.json() == {"facts": {"service": "Libraries", "cost": "100", "budget": "200", "local": "no"}}
    empty = client.post("/workbench/facts", json={"name": "none.csv", "text": "service,cost\n"})
    assert empty.status_code == 422 and empty.json()["error"] == {"message": "the CSV file has a header row but no services", "location": "file"}


def test_impact_of_a_valued_policy_gives_money_totals_before_after_and_the_change(tmp_path: Path) -> None:
    # The Hillingdon grant with the maximum raised in the draft: the impact carries what the workbench's totals table shows.
    root = Path(__file__).resolve().parents[2]
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted((root / "rules" / "hillingdon-dfg").glob("*.rules"))}
    policy = policy_from_sources(files, "hillingdon")
    draft = {**files, "20-values.rules": files["20-values.rules"].replace("value £30,000", "value £35,000")}
    register = (root / "examples" / "hillingdon-register.yaml").read_text(encoding="utf-8")
    with DecisionRegister(str(tmp_path / "register.db")) as store, TestClient(create_app(policy, store), base_url="http://127.0.0.1") as client:
        answer = client.post("/workbench/impact", json={"files": draft, "register_name": "register.yaml", "register_text": register})
    assert answer.status_code == 200, answer.text
    summary = answer.json()["summary"]
    assert summary["changed"] == 2
    assert summary["totals"] == {
        "grant_amount": {"before": "69500.00", "after": "79500.00", "change": "10000.00"},
        "repayment": {"before": "7000.00", "after": "7000.00", "change": "0.00"},
        "covered_works_cost": {"before": "50000.00", "after": "50000.00", "change": "0.00", "unknown_before": 1, "unknown_after": 1},
        "payable_works": {"before": "42000.00", "after": "47000.00", "change": "5000.00", "unknown_before": 2, "unknown_after": 2},
    }
    assert [c["after"]["results"] for c in answer.json()["changes"]] == [
        {"grant_amount": "35000.00", "repayment": "0.00", "covered_works_cost": "38000.00", "payable_works": "35000.00"},
        {"grant_amount": "35000.00", "repayment": "0.00", "covered_works_cost": None, "payable_works": None},
    ]


def test_impact_given_up_stops_at_its_next_service(tmp_path: Path) -> None:
    """Work whose request was answered 503 stops before the next service of the register, as a batch of decisions does; until then
    (and in work nobody gave up on) every service is compared."""
    import contextvars

    from policy_rules.service import work
    from policy_rules.workbench.routes import impact

    class GivenUpAfter:
        """A request's given-up flag that reads as set once ``services`` services have been compared."""

        def __init__(self, services: int) -> None:
            self.services = services
            self.asked = 0

        def is_set(self) -> bool:
            self.asked += 1
            return self.asked > self.services

    saved = policy_from_sources({"policy.rules": RULES}, "saved")
    draft = policy_from_sources({"policy.rules": CHANGED}, "draft")
    register = tmp_path / "register.csv"
    register.write_text(REGISTER)
    rows = len(REGISTER.strip().splitlines()) - 1

    def run(flag: GivenUpAfter | None) -> dict:  # type: ignore[type-arg]
        def call() -> dict:  # type: ignore[type-arg]
            work._GIVEN_UP.set(flag)  # type: ignore[arg-type]
            return impact(saved, draft, register, None)

        return contextvars.copy_context().run(call)

    assert run(None)["summary"]["services"] == rows
    flag = GivenUpAfter(2)
    with pytest.raises(work.GivenUp):
        run(flag)
    assert flag.asked == 3
    assert run(GivenUpAfter(rows))["summary"]["services"] == rows
