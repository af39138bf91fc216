"""The step library for the policy features, and the rule coverage report.

Every step an officer may write is defined here; ``docs/writing-scenarios.md``
lists them with examples. A scenario builds up one service's facts (the
``service_facts`` fixture), applies a rule folder to them (the ``decision``
fixture) and then checks the decision and why it was made.

Each decision the steps make is also counted for rule coverage: at the end of
the run a table says, for every rule of each folder applied, whether the
scenarios saw it both applying and not applying. A run of the whole features
folder fails when a rule of ``rules/haringey`` was not seen both ways.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from features.steps import (
    ALL_CLEAR,
    RuleCoverage,
    apply_fact_rows,
    elements_from,
    folder_key,
    names_in,
    policy_at,
    resolve,
    rules_considered,
    scenario_count,
    set_fact,
    table_rows,
)
from policy_rules import Decision
from policy_rules.renderers.reports import explain_text, summary_text

FEATURES_DIR = Path(__file__).parent
REQUIRED_COVERAGE = ("rules/haringey",)
"""Rule folders every rule of which the bundled features must show both applying and not applying."""

COVERAGE = pytest.StashKey[RuleCoverage]()
FULL_RUN = pytest.StashKey[bool]()

NAME = r'(?: called "(?P<name>[^"]+)")?'
FACT = r"(?:the fact )?(?P<fact>[a-z_][a-z0-9_]*)"
ENGINE_BUG = "expected to fail until a known engine bug, described under the scenario's title, is fixed; when it passes, remove the @engine-bug tag"

STATUS_WORDS = {
    "decides": "decided",
    "applies": "applies",
    "is overridden": "overridden",
    "does not apply": "does_not_apply",
    "is not known yet": "unknown",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "worked-example: a worked example of the policy reading, checked as written there")
    config.addinivalue_line("markers", "engine-bug: the scenario states the correct behaviour and fails because of a known engine bug")


def pytest_bdd_apply_tag(tag: str, function: Any) -> Any:
    """``@engine-bug``: a scenario that states the correct behaviour, run as a strict expected failure."""
    if tag != "engine-bug":
        return None
    pytest.mark.xfail(strict=True, reason=ENGINE_BUG)(getattr(pytest.mark, tag)(function))
    return True


def coverage_of(config: pytest.Config) -> RuleCoverage:
    return config.stash.setdefault(COVERAGE, RuleCoverage())


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def service_facts() -> dict[str, Any]:
    """The facts of the service in the scenario: none until a Given step says some."""
    return {}


@pytest.fixture
def decision() -> Decision:
    pytest.fail('no decision yet: apply the rules first, with a step such as  When the rules in "rules/haringey" are applied')


def _named(facts: dict[str, Any], name: str | None) -> dict[str, Any]:
    if name:
        facts["service"] = name
    return facts


def _summary(decision: Decision) -> str:
    return "\nThe decision was:\n" + summary_text(decision)


# --- Given: the service -----------------------------------------------------------------------


@given(parsers.re(rf"a service{NAME} with these facts:"), target_fixture="service_facts")
def service_with_facts(datatable: list[list[str]], name: str | None) -> dict[str, Any]:
    """Only the facts in the table are known; every other fact is missing."""
    return apply_fact_rows(_named({}, name), datatable)


@given(parsers.re(rf"a service{NAME} that is all clear"), target_fixture="service_facts")
def service_all_clear(name: str | None) -> dict[str, Any]:
    return _named(dict(ALL_CLEAR), name)


@given(parsers.re(rf"a service{NAME} that is all clear except:"), target_fixture="service_facts")
def service_all_clear_except(datatable: list[list[str]], name: str | None) -> dict[str, Any]:
    return apply_fact_rows(_named(dict(ALL_CLEAR), name), datatable)


@given(parsers.re(rf"{FACT} is (?!missing$|not known$)(?P<value>.+)"))
def fact_is(service_facts: dict[str, Any], fact: str, value: str) -> None:
    set_fact(service_facts, fact, value)


@given(parsers.re(rf"{FACT} is (?:missing|not known)"))
def fact_is_missing(service_facts: dict[str, Any], fact: str) -> None:
    service_facts.pop(fact, None)


@given("the service has these elements:")
def service_elements(service_facts: dict[str, Any], datatable: list[list[str]]) -> None:
    service_facts["elements"] = elements_from(datatable)


@given("the service has no elements")
def service_without_elements(service_facts: dict[str, Any]) -> None:
    service_facts["elements"] = []


# --- When: the rules are applied -------------------------------------------------------------------


@when(parsers.re(r'the rules in "(?P<folder>[^"]+)" are applied(?: as at (?P<as_of>\d{4}-\d{2}-\d{2}))?'), target_fixture="decision")
def apply_rules(pytestconfig: pytest.Config, service_facts: dict[str, Any], folder: str, as_of: str | None) -> Decision:
    root = pytestconfig.rootpath
    policy = policy_at(str(resolve(root, folder)))
    made = policy.evaluate(service_facts, as_of=as_of)
    coverage_of(pytestconfig).record(folder_key(folder), policy, made, root)
    return made


# --- Then: what was decided ----------------------------------------------------------------------


@then(parsers.re(r"the outcome is (?P<outcome>\w+)"))
def outcome_is(decision: Decision, outcome: str) -> None:
    assert decision.outcome == outcome, f"the outcome is {decision.outcome}, not {outcome}{_summary(decision)}"


@then(parsers.re(r"the priority is (?P<priority>\w+)"))
def priority_is(decision: Decision, priority: str) -> None:
    assert decision.priority == priority, f"the priority is {decision.priority}, not {priority}{_summary(decision)}"


@then(parsers.re(r"the reasons are (?P<names>.+)"))
def reasons_are(decision: Decision, names: str) -> None:
    expected = names_in(names)
    shown = ", ".join(decision.reasons) or "none"
    assert sorted(decision.reasons) == sorted(expected), f"the reasons are {shown}, not {', '.join(expected)}{_summary(decision)}"


@then("there are no reasons")
def no_reasons(decision: Decision) -> None:
    assert decision.reasons == (), f"there are reasons: {', '.join(decision.reasons)}{_summary(decision)}"


@then("the elements are delivered as follows:")
def elements_are(decision: Decision, datatable: list[list[str]]) -> None:
    expected = [(name, outcome) for name, outcome in table_rows(datatable, ("name", "outcome"))]
    actual = [(e.name, e.outcome) for e in decision.elements]
    assert actual == expected, f"the elements are delivered as {actual}, not {expected}{_summary(decision)}"


@then(parsers.re(r"the facts needed are (?P<names>.+)"))
def needed_facts_are(decision: Decision, names: str) -> None:
    expected = names_in(names)
    assert len(decision.needed_facts) == len(set(decision.needed_facts)), f"a fact is asked for twice: {decision.needed_facts}"
    assert sorted(decision.needed_facts) == sorted(expected), (
        f"the facts needed are {', '.join(decision.needed_facts) or 'none'}, not {', '.join(expected)}{_summary(decision)}"
    )


@then("no facts are needed")
def no_facts_needed(decision: Decision) -> None:
    assert decision.needed_facts == (), f"facts are still needed: {', '.join(decision.needed_facts)}{_summary(decision)}"


@then(parsers.re(r'the officer is asked "(?P<question>.+)"'))
def officer_is_asked(decision: Decision, question: str) -> None:
    asked = [q.question for q in decision.questions]
    assert question in asked, f"the questions asked are {asked}{_summary(decision)}"


# --- Then: why ------------------------------------------------------------------------------------


@then(parsers.re(r"the outcome is decided by the rule (?P<label>\w+)"))
def decided_by(decision: Decision, label: str) -> None:
    assert decision.decided_by == label, f"the outcome is decided by {decision.decided_by or 'no rule'}, not {label}{_summary(decision)}"


@then("no rule decides the outcome")
def no_rule_decides(decision: Decision) -> None:
    assert decision.decided_by is None, f"the rule {decision.decided_by} decides the outcome{_summary(decision)}"


def _sections_of(decision: Decision, label: str) -> list[str]:
    found = [rule for rule in rules_considered(decision) if rule.label == label]
    assert found, f"the rule {label} is not in the explanation of this decision{_summary(decision)}"
    return [c.section for c in found[0].citations]


@then(parsers.re(r'the deciding rule cites the section "(?P<section>[^"]+)"'))
def deciding_rule_cites(decision: Decision, section: str) -> None:
    assert decision.decided_by, f"no rule decided the outcome{_summary(decision)}"
    sections = _sections_of(decision, decision.decided_by)
    assert section in sections, f"the rule {decision.decided_by} cites {sections}, not {section!r}"


@then(parsers.re(r'the rule (?P<label>\w+) cites the section "(?P<section>[^"]+)"'))
def rule_cites(decision: Decision, label: str, section: str) -> None:
    sections = _sections_of(decision, label)
    assert section in sections, f"the rule {label} cites {sections}, not {section!r}"


@then(parsers.re(r"the rule (?P<label>\w+) (?P<words>decides|applies|is overridden|does not apply|is not known yet)(?: by (?P<by>\w+))?"))
def rule_status(decision: Decision, label: str, words: str, by: str | None) -> None:
    """The status of a rule in every decision that considered it (for a rule about elements: in each element's)."""
    found = [rule for rule in rules_considered(decision) if rule.label == label]
    assert found, f"the rule {label} is not in the explanation of this decision{_summary(decision)}"
    status = STATUS_WORDS[words]
    statuses = [rule.status for rule in found]
    assert all(s == status for s in statuses), f"the rule {label} is shown as {', '.join(statuses)}, not {status}\n{explain_text(decision)}"
    if by is not None:
        assert words == "is overridden", "only an overridden rule is overridden by another"
        shown = [rule.overridden_by for rule in found]
        assert all(b == by for b in shown), f"the rule {label} is overridden by {', '.join(map(str, shown))}, not {by}"


@then(parsers.re(r'the explanation says "(?P<text>.+)"'))
def explanation_says(decision: Decision, text: str) -> None:
    explanation = explain_text(decision)
    assert text in explanation, f"the explanation does not say {text!r}; it reads:\n{explanation}"


@then(parsers.re(r'the explanation does not say "(?P<text>.+)"'))
def explanation_does_not_say(decision: Decision, text: str) -> None:
    explanation = explain_text(decision)
    assert text not in explanation, f"the explanation says {text!r}; it reads:\n{explanation}"


# --- rule coverage ---------------------------------------------------------------------------


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    coverage_of(request.config).scenarios_run.add(request.node.nodeid)


def _full_run(config: pytest.Config) -> bool:
    """Whether every scenario of the features folder ran (none left out by -k, -m, a node id, --lf or -x)."""
    run = coverage_of(config).scenarios_run
    return bool(run) and len(run) == scenario_count(FEATURES_DIR)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    coverage = coverage_of(config)
    full = _full_run(config)
    config.stash[FULL_RUN] = full
    if full and exitstatus == pytest.ExitCode.OK and not all(coverage.of(f, config.rootpath).complete for f in REQUIRED_COVERAGE):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    coverage = coverage_of(config)
    if not coverage.scenarios_run:
        return
    full = config.stash.get(FULL_RUN, False)
    folders = list(dict.fromkeys([*REQUIRED_COVERAGE, *coverage.folders])) if full else list(coverage.folders)
    terminalreporter.section("rule coverage")
    for folder in folders:
        folder_coverage = coverage.of(folder, config.rootpath)
        terminalreporter.write_line(folder_coverage.headline(folder))
        for line in folder_coverage.table():
            terminalreporter.write_line(line)
        if folder in REQUIRED_COVERAGE and not folder_coverage.complete:
            if full:
                message = f"FAILED: every rule of {folder} must be seen both applying and not applying; add scenarios for the rules marked NO"
                terminalreporter.write_line(message, red=True)
            else:
                terminalreporter.write_line("(only some scenarios ran: coverage below 100% does not fail this run)")
