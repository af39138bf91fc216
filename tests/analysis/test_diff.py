"""``policy-rules diff OLD NEW FACTS``: every service two versions decide differently, and only those, with the deciding rules and a summary."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules import ConflictError, Policy, load_policy
from policy_rules.analysis.diff import Change, DiffSummary, compare
from policy_rules.registers.facts import ServiceFacts
from tests.support.cli_helpers import run_cli

AS_OF = date(2025, 1, 15)

HEAD = """policy "contracts"
  version "{version}"
  outcome route
  priority urgency
  service name name

fact name is text
fact spend is money
fact ends is date
fact statutory is yes/no

decision route
  outcomes keep, review, bring_in

decision urgency
  outcomes low, high

rule keep_by_default
  by default route is keep

rule review_big_contracts
  exception to keep_by_default
  when spend is at least £{big}
  then route is review

rule statutory_comes_in
  exception to review_big_contracts
  when statutory
  then route is bring_in

rule low_by_default
  by default urgency is low
"""

NEW_RULE = """
rule high_when_ending_soon
  exception to low_by_default
  when ends is within 12 months of today
  then urgency is high
"""


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("diff")
    old, new = folder / "old.rules", folder / "new.rules"
    old.write_text(HEAD.format(version="1", big="100,000"))
    new.write_text(HEAD.format(version="2", big="50,000") + NEW_RULE)
    return old, new


def side(policy: Policy, facts: dict) -> tuple:
    try:
        d = policy.evaluate(facts, AS_OF, trace=False)
    except ConflictError:
        return ("conflict",)
    return (d.outcome, d.priority, tuple(d.needed_facts), d.decided_by)


services = st.fixed_dictionaries(
    {"name": st.text("abc", min_size=1, max_size=3)},
    optional={
        "spend": st.integers(0, 200_000),
        "ends": st.dates(date(2024, 1, 1), date(2027, 1, 1)),
        "statutory": st.booleans(),
    },
)


@given(st.lists(services, max_size=12))
@settings(max_examples=40, deadline=None)
def test_the_changes_are_exactly_the_services_decided_differently(versions: tuple[Path, Path], rows: list[dict]) -> None:
    old, new = (load_policy(p) for p in versions)
    found = list(compare(old, new, [ServiceFacts(r, "<facts>", i) for i, r in enumerate(rows)], AS_OF))
    summary = found[-1]
    assert isinstance(summary, DiffSummary)
    changes = [c for c in found[:-1] if isinstance(c, Change)]
    expected = [i for i, r in enumerate(rows) if side(old, r) != side(new, r)]
    assert [c.index for c in changes] == expected
    assert (summary.services, summary.changed) == (len(rows), len(expected))
    for c in changes:
        before, after = old.evaluate(rows[c.index], AS_OF, trace=False), new.evaluate(rows[c.index], AS_OF, trace=False)
        assert (c.before.outcome, c.after.outcome) == (before.outcome, after.outcome)
        assert (c.before.decided_by, c.after.decided_by) == (before.decided_by, after.decided_by)
        assert summary.moves[(before.outcome, after.outcome)] >= 1
    assert sum(summary.moves.values()) == len(expected)


REGISTER = """name,spend,ends,statutory
cleaning,60000,2030-01-01,no
catering,60000,2030-01-01,yes
parks,10000,2025-06-30,no
libraries,10000,2030-01-01,no
halls,,2030-01-01,no
"""


@pytest.fixture()
def register(tmp_path: Path) -> Path:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER)
    return path


def test_text_lists_each_change_with_the_rules_before_and_after_and_a_summary(versions: tuple[Path, Path], register: Path) -> None:
    result = run_cli("diff", str(versions[0]), str(versions[1]), str(register), "--as-of", "2025-01-15")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cleaning (#1)\n  outcome: keep -> review\n  outcome decided by: keep_by_default -> review_big_contracts\n" in out
    assert "parks (#3)\n  priority: low -> high\n  outcome decided by: keep_by_default -> keep_by_default\n" in out
    assert "libraries" not in out and "catering" not in out and "halls" not in out
    assert "2 of 5 services decided differently\n" in out
    assert "  keep -> review: 1\n" in out


def test_exit_code_says_whether_anything_changed(versions: tuple[Path, Path], register: Path) -> None:
    changed = run_cli("diff", str(versions[0]), str(versions[1]), str(register), "--as-of", "2025-01-15", "--exit-code")
    same = run_cli("diff", str(versions[0]), str(versions[0]), str(register), "--as-of", "2025-01-15", "--exit-code")
    assert (changed.returncode, same.returncode) == (1, 0)
    assert "0 of 5 services decided differently" in same.stdout


def test_json_and_csv_carry_both_sides(versions: tuple[Path, Path], register: Path) -> None:
    as_json = run_cli("diff", str(versions[0]), str(versions[1]), str(register), "--as-of", "2025-01-15", "--format", "json")
    data = json.loads(as_json.stdout)
    assert [c["service"] for c in data["changes"]] == ["cleaning", "parks"]
    assert data["changes"][0]["before"]["decided_by"] == "keep_by_default"
    assert data["changes"][0]["after"] == {
        "outcome": "review",
        "priority": "low",
        "elements": [],
        "needed_facts": [],
        "decided_by": "review_big_contracts",
    }
    assert data["summary"]["changed"] == 2 and data["summary"]["services"] == 5
    assert data["before"]["version"] == "1" and data["after"]["version"] == "2"
    as_csv = run_cli("diff", str(versions[0]), str(versions[1]), str(register), "--as-of", "2025-01-15", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["service"], r["outcome_before"], r["outcome_after"], r["changed"]) for r in rows[:2]] == [
        ("cleaning", "keep", "review", "outcome"),
        ("parks", "keep", "keep", "priority"),
    ]


def test_a_service_that_only_one_version_can_decide_is_a_change(tmp_path: Path, versions: tuple[Path, Path]) -> None:
    wider = tmp_path / "wider.rules"
    wider.write_text(versions[0].read_text().replace("fact name is text", "fact name is text\nfact region is text"))
    facts = tmp_path / "facts.yaml"
    facts.write_text("as_of: 2025-01-15\nservices:\n  - {name: east, spend: 10, ends: 2030-01-01, statutory: no, region: east}\n")
    data = json.loads(run_cli("diff", str(versions[0]), str(wider), str(facts), "--format", "json").stdout)
    [change] = data["changes"]
    assert change["before"]["outcome"] == "error" and "region" in change["before"]["message"]
    assert change["after"]["outcome"] == "keep"
    assert data["summary"]["by_outcome"] == [{"from": "error", "to": "keep", "services": 1}]


def test_bad_rules_are_an_error_in_words_not_a_traceback(tmp_path: Path, versions: tuple[Path, Path], register: Path) -> None:
    bad = run_cli("diff", str(versions[0]), str(tmp_path / "missing"), str(register))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "missing" in bad.stderr


def test_without_facts_the_symbolic_diff_gives_one_witness_per_outcome_change(versions: tuple[Path, Path]) -> None:
    result = run_cli("diff", str(versions[0]), str(versions[1]), "--format", "json", "--exit-code")
    assert result.returncode == 1, result.stderr
    [change] = json.loads(result.stdout)["changes"]
    assert (change["before"], change["after"], change["decided_by_after"]) == ("keep", "review", "review_big_contracts")
    assert 50_000 <= change["witness"]["spend"] < 100_000 and change["witness"]["statutory"] is False
    refused = run_cli("diff", str(versions[0]), str(versions[1]), "--format", "csv")
    assert refused.returncode == 2 and "FACTS" in refused.stderr


def test_the_readmes_diff_of_the_example_register_totals_money_before_after_and_the_change(tmp_path: Path) -> None:
    # The README's example, run as it says: the maximum grant raised in a copy of the Hillingdon rules.
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = "$ policy-rules diff rules/hillingdon-dfg new examples/hillingdon-register.yaml\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0]
    new = tmp_path / "new"
    shutil.copytree(root / "rules" / "hillingdon-dfg", new)
    values = new / "20-values.rules"
    text = values.read_text(encoding="utf-8")
    assert text.count("value £30,000") == 1
    values.write_text(text.replace("value £30,000", "value £35,000"), encoding="utf-8")
    result = run_cli("diff", "rules/hillingdon-dfg", str(new), "examples/hillingdon-register.yaml")
    assert result.returncode == 0, result.stderr
    assert re.sub(r"sha256:[0-9a-f]+", "sha256:…", result.stdout) == shown
    assert "  grant_amount: total £69,500 before, £79,500 after, change +£10,000\n" in shown
    as_json = json.loads(run_cli("diff", "rules/hillingdon-dfg", str(new), "examples/hillingdon-register.yaml", "--format", "json").stdout)
    assert as_json["summary"]["totals"]["grant_amount"] == {"before": "69500.00", "after": "79500.00", "change": "10000.00"}


GRANT = """policy "g"
  outcome d
  results grant
fact x is money
decision d
  outcomes done
rule done_default
  by default d is done
decision grant is money
rule grant_rule
  by default grant is {formula}
"""


def test_a_money_total_says_for_how_many_services_the_result_is_unknown_before_and_after(tmp_path: Path) -> None:
    # Before, the grant is the amount given and unknown without it; after, a fixed £100 that every service knows.
    for name, formula in (("old", "x"), ("new", "£100")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.rules").write_text(GRANT.format(formula=formula), encoding="utf-8")
    facts = tmp_path / "register.yaml"
    facts.write_text("as_of: 2025-01-15\nservices:\n  - {x: 40}\n  - {}\n  - {}\n", encoding="utf-8")
    text = run_cli("diff", str(tmp_path / "old"), str(tmp_path / "new"), str(facts))
    assert "  grant: total £40 before, £300 after, change +£260; not counted where unknown: 2 services before and 0 after\n" in text.stdout
    data = json.loads(run_cli("diff", str(tmp_path / "old"), str(tmp_path / "new"), str(facts), "--format", "json").stdout)
    assert data["summary"]["totals"] == {"grant": {"before": "40.00", "after": "300.00", "change": "260.00", "unknown_before": 2, "unknown_after": 0}}
    same = json.loads(run_cli("diff", str(tmp_path / "new"), str(tmp_path / "new"), str(facts), "--format", "json").stdout)
    assert same["summary"]["totals"] == {"grant": {"before": "300.00", "after": "300.00", "change": "0.00"}}
