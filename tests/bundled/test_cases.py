"""Case files read and run: what they may hold, each mistake in them located, and what a case compares."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from policy_rules import load_policy
from policy_rules.api import Policy
from policy_rules.errors import FactsError, PolicyError
from policy_rules.testing import cases as c
from tests.support.case_policies import write_policy


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return load_policy(write_policy(tmp_path_factory.mktemp("grant")))


def written(tmp_path: Path, text: str, name: str = "cases.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_one_case_in_a_file(tmp_path: Path) -> None:
    path = written(tmp_path, "name: low income\nfacts: {income: 10000}\nexpect: {outcome: grant}\n")
    (case,) = c.read_cases(path)
    assert (case.name, dict(case.facts), dict(case.expect), case.as_of) == ("low income", {"income": 10000}, {"outcome": "grant"}, None)


def test_the_file_date_is_the_default_and_a_case_date_wins(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        """as_of: 2024-06-01
cases:
  - {name: a, facts: {}, expect: {outcome: refuse}}
  - {name: b, facts: {}, expect: {outcome: refuse}, as_of: 2025-02-01}
""",
    )
    assert [case.as_of for case in c.read_cases(path)] == [date(2024, 6, 1), date(2025, 2, 1)]


def test_json_case_files_give_dates_as_text(tmp_path: Path) -> None:
    path = written(tmp_path, '{"as_of": "2024-06-01", "cases": [{"name": "a", "facts": {}, "expect": {"outcome": "refuse"}}]}', "cases.json")
    assert c.read_cases(path)[0].as_of == date(2024, 6, 1)


def test_cases_may_start_from_shared_facts_with_a_yaml_merge(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        """cases:
  - {name: a, facts: &base {income: 10000, carer: no}, expect: {outcome: grant}}
  - {name: b, facts: {<<: *base, carer: yes}, expect: {priority: urgent}}
""",
    )
    assert dict(c.read_cases(path)[1].facts) == {"income": 10000, "carer": True}


def test_an_amount_with_commas_in_a_flow_mapping_is_one_amount_beside_a_yaml_merge(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        """cases:
  - {name: a, facts: &base {income: £1,000,000, carer: no}, expect: {outcome: refuse}}
  - {name: b, facts: {<<: *base, income: £1,260,000.50}, expect: {outcome: refuse}}
  - {name: c, facts: {income: 12,500, carer: yes}, expect: {outcome: grant}}
""",
    )
    assert [dict(case.facts) for case in c.read_cases(path)] == [
        {"income": "£1,000,000", "carer": False},
        {"income": "£1,260,000.50", "carer": False},
        {"income": "12,500", "carer": True},
    ]


def test_a_flow_mapping_keeps_keys_written_after_a_comma_and_a_space(tmp_path: Path) -> None:
    path = written(tmp_path, "name: a\nfacts: {income: 1, 250: x}\nexpect: {outcome: grant}\n")
    assert dict(c.read_cases(path)[0].facts) == {"income": 1, 250: "x"}


def test_expected_lists_of_names_are_read_as_sets_and_yes_no_as_names(tmp_path: Path) -> None:
    path = written(tmp_path, "name: a\nfacts: {}\nexpect: {reasons: [disabled, carer, carer], outcome: yes}\n")
    assert dict(c.read_cases(path)[0].expect) == {"reasons": ["carer", "disabled"], "outcome": "yes"}


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("name: a\nfacts: {}\nexpect: {outcom: grant}\n", "case 'a': `expect.outcom`", "did you mean `outcome`?"),
        ("name: a\nfacts: {}\nexpect: {colour: red}\n", "case 'a': `expect.colour`", "the keys allowed here are outcome, priority"),
        ("name: a\nfact: {}\nexpect: {outcome: grant}\n", "case 'a': `fact`", "did you mean `facts`?"),
        ("case: []\n", "`case`", "did you mean `cases`?"),
        ("as_of: 2024-01-01\ncases: []\n", "`cases`", "a list of one or more cases"),
        ("cases:\n  - {facts: {}, expect: {outcome: grant}}\n", "`cases[0].name`", "every case needs a `name`"),
        ("name: a\nexpect: {outcome: grant}\n", "case 'a': `facts`", "the case has no `facts`"),
        ("name: a\nfacts: {}\nexpect: {}\n", "case 'a': `expect`", "`expect` is empty"),
        ("name: a\nfacts: {}\nexpect: {needed_facts: income}\n", "case 'a': `expect.needed_facts`", "must be a list"),
        ("name: a\nfacts: {}\nexpect: {outcome: 3}\n", "case 'a': `expect.outcome`", "expected a name here"),
        ("name: a\nfacts: {}\nexpect: {elements: [{name: bed, outcom: loan}]}\n", "case 'a': `expect.elements[0].outcom`", "did you mean `outcome`?"),
        ("cases:\n  - {name: a, facts: {}, expect: {outcome: grant}}\n  - {name: a, facts: {}, expect: {outcome: grant}}\n", "case 'a': `name`", "two cases"),
        ("- 1\n- 2\n", "", "a case file holds one case"),
    ],
)
def test_every_mistake_in_a_case_file_is_located(tmp_path: Path, text: str, location: str, message: str) -> None:
    path = written(tmp_path, text)
    with pytest.raises(c.CaseFileError) as caught:
        c.read_cases(path)
    assert caught.value.location == f"{path}: {location}".rstrip(": ")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("as_of: 2024-02-30\ncases: [{name: a, facts: {}, expect: {outcome: grant}}]\n", 'the top-level `as_of` is "2024-02-30"; write a date'),
        ("name: a\nfacts: {}\nexpect: {outcome: grant}\nas_of: soon\n", '`as_of` is "soon"'),
        ("name: a\nname: b\n", "appears twice"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_unreadable_dates_and_yaml_are_facts_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FactsError) as caught:
        c.read_cases(written(tmp_path, text))
    assert message in caught.value.message


def test_case_files_are_found_in_folders_in_a_stable_order(tmp_path: Path) -> None:
    for name in ("b/2.yaml", "b/10.json", "a.yml", "notes.txt", "b/c/1.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [Path(f).relative_to(tmp_path).as_posix() for f in c.case_files([str(tmp_path)])]
    assert found == ["a.yml", "b/10.json", "b/2.yaml", "b/c/1.yaml"]


def test_a_folder_without_case_files_and_a_missing_path_are_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="holds no case files"):
        c.case_files([str(tmp_path)])
    with pytest.raises(PolicyError, match="no such file"):
        c.case_files([str(tmp_path / "missing.yaml")])


def test_a_linked_case_file_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("x", encoding="utf-8")
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "in.yaml").write_text("x", encoding="utf-8")
    (folder / "link.yaml").symlink_to(outside)
    assert [Path(f).name for f in c.case_files([str(folder)])] == ["in.yaml"]


def case(expect: dict[str, object], facts: dict[str, object] | None = None, as_of: date | None = date(2025, 2, 1)) -> c.Case:
    return c.Case("a case", facts if facts is not None else {"applicant": "A", "income": 22000, "carer": True, "disabled": False}, expect, as_of, "cases.yaml")


def test_a_case_passes_when_every_expected_key_matches(policy: Policy) -> None:
    expect = {
        "outcome": "grant",
        "priority": "urgent",
        "reasons": ["carer"],
        "needed_facts": [],
        "decided_by": "grant_on_low_income",
        "elements": [],
    }
    result = c.run_case(policy, case(expect), date(2026, 1, 1))
    assert (result.status, result.mismatches) == ("passed", ())


def test_the_date_of_a_case_decides_a_dated_parameter(policy: Policy) -> None:
    assert c.run_case(policy, case({"outcome": "refuse"}, as_of=date(2024, 6, 1)), date(2026, 1, 1)).status == "passed"
    result = c.run_case(policy, case({"outcome": "refuse"}, as_of=None), date(2026, 1, 1))
    assert (result.status, result.as_of) == ("failed", date(2026, 1, 1))


def test_a_failing_case_lists_only_the_keys_that_differ(policy: Policy) -> None:
    result = c.run_case(policy, case({"outcome": "grant", "priority": "routine", "reasons": []}), date(2026, 1, 1))
    assert result.status == "failed"
    assert result.mismatches == (c.Mismatch("priority", "routine", "urgent"), c.Mismatch("reasons", [], ["carer"]))
    text = c.failure_text(policy, result)
    assert "priority: expected routine, got urgent" in text
    assert "reasons: expected [], got [carer]" in text
    assert "decided by rule grant_on_low_income (" in text and "policy.rules:" in text


def test_elements_are_compared_in_order_with_their_outcomes(policy: Policy) -> None:
    facts = {"income": 10000, "items": [{"name": "bed", "costly": True}, {"name": "chair", "costly": False}]}
    expected = [{"name": "bed", "outcome": "loan"}, {"name": "chair", "outcome": "grant"}]
    assert c.run_case(policy, case({"elements": expected}, facts), date(2026, 1, 1)).status == "passed"
    assert c.run_case(policy, case({"elements": expected[::-1]}, facts), date(2026, 1, 1)).status == "failed"


def test_unknown_facts_give_needed_facts(policy: Policy) -> None:
    result = c.run_case(policy, case({"outcome": "undetermined", "needed_facts": ["income"]}, {"carer": False}), date(2026, 1, 1))
    assert result.status == "passed"


def test_facts_the_policy_cannot_use_are_an_error_of_the_case(policy: Policy) -> None:
    result = c.run_case(policy, case({"outcome": "grant"}, {"incme": 3}), date(2026, 1, 1))
    assert result.status == "error"
    assert result.error is not None
    assert result.error.location == "cases.yaml: case 'a case': `facts.incme`"
    assert "did you mean `income`?" in result.error.message


def test_cases_are_picked_by_a_part_of_their_name() -> None:
    found = [c.Case(name, {}, {"outcome": "x"}, None, "f") for name in ("Low income", "high income", "carer")]
    assert [x.name for x in c.selected(found, "INCOME")] == ["Low income", "high income"]
    assert c.selected(found, None) == found


def test_the_tally() -> None:
    results = [c.CaseResult(case({}), date(2026, 1, 1), status) for status in ("passed", "passed", "failed")]
    assert c.tally(results) == "2 passed, 1 failed"
    assert c.tally([*results, c.CaseResult(case({}), date(2026, 1, 1), "error")]) == "2 passed, 1 failed, 1 could not be run"


def test_a_case_failing_on_an_undetermined_outcome_names_the_facts_needed(policy: Policy) -> None:
    result = c.run_case(policy, case({"outcome": "grant", "priority": "urgent"}, {"applicant": "A", "carer": True}), date(2026, 1, 1))
    assert result.status == "failed"
    assert result.mismatches == (c.Mismatch("outcome", "grant", "undetermined"),)
    text = c.failure_text(policy, result)
    assert "  outcome: expected grant, got undetermined\n  undetermined until these facts are given: income" in text
    assert result.to_dict(policy)["needed_facts"] == ["income"]


def test_a_case_failing_on_a_settled_outcome_names_no_needed_facts(policy: Policy) -> None:
    result = c.run_case(policy, case({"outcome": "refuse"}), date(2026, 1, 1))
    assert result.status == "failed"
    assert "needed" not in c.failure_text(policy, result) and "until these facts" not in c.failure_text(policy, result)
