"""``policy-rules analyse``: each kind of finding on a small policy made to contain it, located, with a witness that shows it.

A witness is checked with the evaluator itself: a conflict's raises the
conflict, a rule that never changes the outcome is decided the same by the
policy without it, a parameter's gap makes a decision dated in it fail. The
bundled policies have no errors, and every warning they get is explained in
their rule files.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given

from policy_rules import ConflictError, Policy, PolicyError, load_policy
from policy_rules.analysis.findings import Analysis, Finding, analyse
from tests.symbolic_support import examples, policy_of
from tests.test_properties import yes_no_cases

ROOT = Path(__file__).resolve().parent.parent
_folders: list[Path] = []

HEADER = 'policy "analysed"\n  outcome plan\n\nfact a is yes/no\nfact b is yes/no\nfact size is number\n\n'
DECISION = "decision plan\n  outcomes keep, grow, cut\n\nrule keep_default\n  by default plan is keep\n\n"


def rule(label: str, parent: str, when: str, then: str) -> str:
    return f"rule {label}\n  exception to {parent}\n  when {when}\n  then plan is {then}\n\n"


def write(tmp_path: Path, text: str, name: str = "p") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "policy.rules").write_text(text)
    return folder


def only(findings: list[Finding], kind: str) -> Finding:
    found = [f for f in findings if f.kind == kind]
    assert len(found) == 1, findings
    return found[0]


def line_of(folder: Path, text: str) -> int:
    return next(i for i, line in enumerate((folder / "policy.rules").read_text().splitlines(), 1) if line.startswith(text))


def decide(policy: Policy, finding: Finding) -> object:
    assert finding.witness is not None
    return policy.evaluate(finding.witness.facts, finding.witness.as_of, trace=False)


def test_two_exceptions_that_can_both_apply_with_different_outcomes_are_an_error(tmp_path: Path) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a", "grow") + rule("cut_when_b", "keep_default", "b", "cut"))
    policy = load_policy(folder)
    finding = only(analyse(policy), "conflict")
    assert finding.severity == "error"
    assert str(finding.span) == f"{folder / 'policy.rules'}:{line_of(folder, 'rule cut_when_b')}:1"
    assert "grow_when_a" in finding.message and "cut_when_b" in finding.message
    with pytest.raises(ConflictError) as raised:
        decide(policy, finding)
    assert set(raised.value.labels) == {"grow_when_a", "cut_when_b"}


def test_agreeing_grounds_are_not_a_conflict(tmp_path: Path) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a", "grow") + rule("grow_when_b", "keep_default", "b", "grow"))
    assert [f for f in analyse(load_policy(folder)) if f.kind == "conflict"] == []


def test_a_rule_no_service_meets_can_never_apply_and_no_witness_exists(tmp_path: Path) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("impossible", "keep_default", "size > 5 and size < 3", "cut"))
    policy = load_policy(folder)
    finding = only(analyse(policy), "never_applies")
    assert finding.severity == "warning"
    assert str(finding.span) == f"{folder / 'policy.rules'}:{line_of(folder, 'rule impossible')}:1"
    assert finding.witness is None
    analysis = Analysis(policy)
    assert analysis.model_of(analysis.own_holds("impossible")) is None
    assert analysis.model_of(analysis.own_holds("keep_default")) is not None


def test_a_table_row_shadowed_by_the_rows_before_it_never_applies(tmp_path: Path) -> None:
    table = (
        "table plan_table for plan, first that applies\n"
        "  row big\n    when size > 10\n    then grow\n"
        "  row bigger\n    when size > 10 and a\n    then cut\n"
        "  otherwise small\n    then keep\n"
    )
    folder = write(tmp_path, HEADER + "decision plan\n  outcomes keep, grow, cut\n\n" + table)
    policy = load_policy(folder)
    findings = analyse(policy)
    shadowed = only(findings, "never_changes")
    assert shadowed.span.line == line_of(folder, "  row bigger")
    assert "row bigger" in shadowed.message
    assert decide(policy, shadowed).decided_by == "big"  # type: ignore[attr-defined]


def test_a_rule_that_gives_what_it_overrides_never_changes_the_outcome(tmp_path: Path) -> None:
    body = HEADER + DECISION + rule("grow_when_a", "keep_default", "a", "grow")
    folder = write(tmp_path, body + rule("keep_when_b", "keep_default", "b and not a", "keep"))
    policy = load_policy(folder)
    finding = only(analyse(policy), "never_changes")
    assert finding.span.line == line_of(folder, "rule keep_when_b")
    decision = decide(policy, finding)
    assert decision.decided_by == "keep_when_b"  # type: ignore[attr-defined]
    without = load_policy(write(tmp_path, body, "without"))
    assert decide(without, finding).outcome == decision.outcome  # type: ignore[attr-defined]


def test_a_part_of_a_condition_that_never_matters_is_located(tmp_path: Path) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a and (a or b)", "grow"))
    policy = load_policy(folder)
    findings = [f for f in analyse(policy) if f.kind == "part_never_matters"]
    line = line_of(folder, "  when a and (a or b)")
    assert sorted((f.span.line, f.span.column) for f in findings) == [(line, 15), (line, 20)]
    assert {f.message.split("`")[1] for f in findings} == {"a or b", "b"}
    for finding in findings:
        assert decide(policy, finding).decided_by == "grow_when_a"  # type: ignore[attr-defined]


def test_a_part_that_matters_is_not_reported(tmp_path: Path) -> None:
    folder = write(tmp_path, HEADER + DECISION + rule("grow_when_a", "keep_default", "a and (size > 3 or b)", "grow"))
    assert [f for f in analyse(load_policy(folder)) if f.kind == "part_never_matters"] == []


def test_dates_between_two_periods_of_a_parameter_are_a_gap_and_the_witness_fails_then(tmp_path: Path) -> None:
    parameter = "parameter rate is percentage\n  value 10% from 2019-01-01 until 2019-12-31\n  value 20% from 2021-01-01\n\n"
    folder = write(tmp_path, HEADER + parameter + DECISION + rule("grow_when_a", "keep_default", "a and size * rate > 1", "grow"))
    policy = load_policy(folder)
    finding = only(analyse(policy), "parameter_gap")
    assert finding.span.line == line_of(folder, "  value 20%")
    assert "2020-01-01 to 2020-12-31" in finding.message
    assert finding.witness is not None and str(finding.witness.as_of) == "2020-01-01"
    with pytest.raises(PolicyError, match="rate"):
        decide(policy, finding)


def test_a_fact_kept_for_reference_that_a_rule_reads(tmp_path: Path) -> None:
    facts = "fact started is date\n  kept for reference\n\n"
    folder = write(tmp_path, HEADER + facts + DECISION + rule("grow_when_new", "keep_default", "started is after 2020-01-01", "grow"))
    policy = load_policy(folder)
    finding = only(analyse(policy), "reference_read")
    line = line_of(folder, "  when started")
    assert (finding.span.line, finding.span.column) == (line, 8)
    assert finding.witness is not None
    decision = decide(policy, finding)
    flipped = dict(finding.witness.facts, started="2020-01-02" if decision.outcome == "keep" else "2019-01-01")  # type: ignore[attr-defined]
    assert policy.evaluate(flipped, finding.witness.as_of, trace=False).outcome != decision.outcome  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["haringey", "hillingdon-dfg", "small-example", "dorset-ctr"])
def test_the_bundled_policies_have_no_errors_and_every_warning_is_explained(name: str) -> None:
    folder = ROOT / "rules" / name
    findings = analyse(load_policy(folder))
    assert [f for f in findings if f.severity == "error"] == []
    for f in findings:
        lines = Path(f.span.path).read_text().splitlines()
        before = lines[max(0, f.span.line - 4) : f.span.line - 1]
        assert any("analyse:" in line for line in before), f"{f.line()} is neither fixed nor explained in a comment above it"


@given(yes_no_cases())
@examples(40)
def test_a_conflict_is_reported_exactly_when_some_service_meets_one(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, dict, dict]) -> None:
    """On random yes/no policies: an error exactly when a brute force over every service finds one that fails with a conflict, and its witness fails so."""
    text, _known, domains = case
    if not _folders:
        _folders.append(tmp_path_factory.mktemp("conflicts"))
    policy = policy_of(_folders[0], text)
    names = sorted(domains)
    clashes = False
    for values in itertools.product((True, False), repeat=len(names)):
        try:
            policy.evaluate(dict(zip(names, values, strict=True)), trace=False)
        except ConflictError:
            clashes = True
            break
    errors = [f for f in analyse(policy) if f.kind == "conflict"]
    assert bool(errors) == clashes
    for finding in errors:
        with pytest.raises(ConflictError):
            decide(policy, finding)
