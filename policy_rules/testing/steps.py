"""The pytest-bdd steps for scenarios of any policy, written in Gherkin alone.

A scenario names the policy under test, builds up one service's facts, applies
the policy and checks the decision and why it was made. Nothing here knows a
particular policy: fact names, outcomes and rule labels are read from the
policy itself, and every value is read as a facts file's value is (by the
engine's own ``Policy.evaluate``), so ``yes``, ``£1,200,000``, ``2020-03-31``
and ``unknown`` mean in a table what they mean in a register.
``docs/writing-scenarios.md`` lists every step with an example.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_bdd import given, parsers, then, when

from policy_rules import Decision, Policy
from policy_rules.engine import trace as t
from policy_rules.errors import PolicyError, did_you_mean
from policy_rules.registers.facts import read_facts_file
from policy_rules.renderers.reports import explain_text, summary_text
from policy_rules.testing.cases import read_cases
from policy_rules.testing.plugin import POLICY_OPTION, coverage_of, policy_at, rules_considered, shown_path

FEATURE_DIR = pytest.StashKey[Path]()
T = TypeVar("T")

NAME = r'(?: called "(?P<name>[^"]+)")?'
FACT = r"(?:the fact )?(?P<fact>[a-z_][a-z0-9_]*)"
AS_AT = r"(?: as at (?P<as_of>\d{4}-\d{2}-\d{2}))?"
UNKNOWN_WORDS = r"missing|not known|unknown"
ENGINE_BUG = "expected to fail until a known engine bug, described under the scenario's title, is fixed; when it passes, remove the @engine-bug tag"

STATUS_WORDS = {
    "decides": "decided",
    "applies": "applies",
    "is overridden": "overridden",
    "does not apply": "does_not_apply",
    "is not known yet": "unknown",
    "is not needed": "not_needed",
}


# --- hooks ----------------------------------------------------------------------------------------


def pytest_bdd_apply_tag(tag: str, function: Any) -> Any:
    """``@engine-bug``: a scenario that states the correct behaviour, run as a strict expected failure."""
    if tag != "engine-bug":
        return None
    pytest.mark.xfail(strict=True, reason=ENGINE_BUG)(getattr(pytest.mark, tag)(function))
    return True


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Paths in steps are read from the feature's own folder first; the coverage report counts the feature files run."""
    path = Path(feature.filename)
    request.node.stash[FEATURE_DIR] = path.parent
    coverage_of(request.config).feature_files.add(path)


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    coverage_of(request.config).scenarios_run.add(request.node.nodeid)


# --- the scenario's state -----------------------------------------------------------------------


@dataclass
class PolicyScenario:
    """What a scenario has said so far: the policy, the service's facts as written, and the decision once made."""

    root: Path
    feature_dir: Path | None
    policy_path: Path | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    file_as_of: str | None = None
    made: Decision | None = None

    def path(self, written: str) -> Path:
        """A path named in a step: from the feature's folder if it is there, else from the rootdir."""
        path = Path(written)
        if path.is_absolute():
            return path
        tried = [folder / path for folder in (self.feature_dir, self.root) if folder is not None]
        for candidate in tried:
            if candidate.exists():
                return candidate
        pytest.fail(f'there is no "{written}": looked for {" and ".join(str(p) for p in tried)}', pytrace=False)

    @property
    def policy(self) -> Policy:
        if self.policy_path is None:
            pytest.fail(
                f'no policy named: say which with a step such as  Given the policy in "rules/haringey"  (or set the ini option {POLICY_OPTION})',
                pytrace=False,
            )
        return load(self.policy_path)

    @property
    def decision(self) -> Decision:
        if self.made is None:
            pytest.fail("no decision yet: apply the policy first, with a step such as  When the rules are applied", pytrace=False)
        return self.made

    def start(self, facts: dict[str, Any], name: str | None, as_of: date | None = None) -> None:
        """A new service: these facts, this name, decided as at the date its file or case gives, if any."""
        self.facts = facts
        self.name = name
        self.file_as_of = as_of.isoformat() if as_of else None
        self.made = None


def attempt(what: str, call: Callable[[], T]) -> T:
    """What a call into the engine gives; a ``PolicyError`` (the scenario's mistake, not a bug) fails the scenario with its message."""
    try:
        return call()
    except PolicyError as error:
        message = f"{what}: {error}"
    pytest.fail(message, pytrace=False)


def load(path: Path) -> Policy:
    """A policy loaded once for the run."""
    return attempt(f"the policy in {path} does not load", lambda: policy_at(path.resolve()))


@pytest.fixture
def policy_under_test(pytestconfig: pytest.Config) -> str | None:
    """The policy scenarios apply unless a step names another: the ini option, or this fixture overridden in a conftest.py."""
    written = pytestconfig.getini(POLICY_OPTION)
    return written if isinstance(written, str) and written else None


@pytest.fixture
def policy_scenario(request: pytest.FixtureRequest, policy_under_test: str | None) -> PolicyScenario:
    """The state one scenario's steps share."""
    state = PolicyScenario(request.config.rootpath, request.node.stash.get(FEATURE_DIR, None))
    if policy_under_test is not None:
        state.policy_path = state.path(policy_under_test)
    return state


# --- reading tables -------------------------------------------------------------------------------


def table_rows(datatable: Sequence[Sequence[str]], header: Sequence[str]) -> list[list[str]]:
    """The rows of a Gherkin table, without its header row when it has one.

    The header is optional: ``| fact | value |`` as a first row is skipped.
    Every row must have as many cells as the header names.
    """
    rows = [[cell.strip() for cell in row] for row in datatable]
    if rows and [cell.lower() for cell in rows[0]] == list(header):
        rows = rows[1:]
    for row in rows:
        if len(row) != len(header):
            pytest.fail(f"each row of this table needs {len(header)} cells ({' | '.join(header)}), not {len(row)}: | {' | '.join(row)} |", pytrace=False)
    return rows


def fact_rows(datatable: Sequence[Sequence[str]]) -> dict[str, str]:
    """The facts of a ``fact | value`` table, the values as written (the engine reads them)."""
    return {name: value for name, value in table_rows(datatable, ("fact", "value"))}


def records(datatable: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """A list of records from a table whose header names the fields; an empty cell leaves that field unknown."""
    if not datatable:
        pytest.fail("this table needs a header row naming the fields of the records", pytrace=False)
    header = [cell.strip() for cell in datatable[0]]
    return [dict(zip(header, row, strict=True)) for row in table_rows(datatable[1:], header)]


def names_in(text: str) -> list[str]:
    """Names written as a list in a step: ``a, b and c`` (commas and "and" both separate)."""
    return [name for name in re.split(r"\s*,\s*|\s+and\s+", text.strip()) if name]


def _summary(decision: Decision) -> str:
    return "\nThe decision was:\n" + summary_text(decision)


# --- Given: the policy and the service -----------------------------------------------------------


@given(parsers.re(r'the policy in "(?P<path>[^"]+)"'))
def the_policy_in(policy_scenario: PolicyScenario, path: str) -> None:
    policy_scenario.policy_path = policy_scenario.path(path)
    load(policy_scenario.policy_path)


@given(parsers.re(rf"a service{NAME} with these facts:"))
def service_with_facts(policy_scenario: PolicyScenario, datatable: list[list[str]], name: str | None) -> None:
    """Only the facts in the table are known; every other fact is missing."""
    policy_scenario.start(fact_rows(datatable), name)


def _from_file(state: PolicyScenario, written: str, name: str | None) -> tuple[dict[str, Any], date | None]:
    """One service of a facts file (the only one, or the one whose name is given), and the file's ``as_of``."""
    path = state.path(written)
    read = attempt(f"the facts file {written} cannot be read", lambda: read_facts_file(str(path)))
    services = read.services
    if name is None:
        if len(services) != 1:
            pytest.fail(f'{written} holds {len(services)} services; say which, as in  Given the service "NAME" in "{written}"', pytrace=False)
        return dict(services[0].raw), read.as_of
    name_fact = state.policy.model.service_name
    found = [s.raw for s in services if name_fact and s.raw.get(name_fact) == name]
    if len(found) != 1:
        names = [str(s.raw.get(name_fact or "", s.label)) for s in services]
        pytest.fail(f"{written} holds {len(found)} services called {name!r}, not one; its services are {', '.join(names)}", pytrace=False)
    return dict(found[0]), read.as_of


@given(parsers.re(r'the service(?: "(?P<name>[^"]+)")? in "(?P<path>[^"]+)"'))
def service_in_file(policy_scenario: PolicyScenario, path: str, name: str | None) -> None:
    """The facts of a service in a facts file, as ``policy-rules evaluate`` reads them."""
    facts, as_of = _from_file(policy_scenario, path, name)
    policy_scenario.start(facts, None, as_of)


@given(parsers.re(r'the service(?: "(?P<name>[^"]+)")? in "(?P<path>[^"]+)", except:'))
def service_in_file_except(policy_scenario: PolicyScenario, path: str, name: str | None, datatable: list[list[str]]) -> None:
    facts, as_of = _from_file(policy_scenario, path, name)
    policy_scenario.start(facts | fact_rows(datatable), None, as_of)


@given(parsers.re(r'the service of the case(?: "(?P<name>[^"]+)")? in "(?P<path>[^"]+)"'))
def service_of_case(policy_scenario: PolicyScenario, path: str, name: str | None) -> None:
    """The facts of a case in a case file (``policy-rules test``), decided on the case's date unless the When step gives one."""
    cases = attempt(f"the case file {path} cannot be read", lambda: read_cases(str(policy_scenario.path(path))))
    found = [case for case in cases if name is None or case.name == name]
    if name is None and len(found) != 1:
        pytest.fail(f'{path} holds {len(cases)} cases; say which, as in  Given the service of the case "NAME" in "{path}"', pytrace=False)
    if len(found) != 1:
        names = ", ".join(repr(case.name) for case in cases)
        pytest.fail(f"{path} holds no case called {name!r}; its cases are {names}{did_you_mean(name or '', [c.name for c in cases])}", pytrace=False)
    policy_scenario.start(dict(found[0].facts), None, found[0].as_of)


@given(parsers.re(r'the service is called "(?P<name>[^"]+)"'))
def service_called(policy_scenario: PolicyScenario, name: str) -> None:
    policy_scenario.name = name


@given(parsers.re(rf"{FACT} is (?!(?:{UNKNOWN_WORDS})$)(?P<value>.+)"))
def fact_is(policy_scenario: PolicyScenario, fact: str, value: str) -> None:
    policy_scenario.facts[fact] = value


@given(parsers.re(rf"{FACT} is (?:{UNKNOWN_WORDS})"))
def fact_is_unknown(policy_scenario: PolicyScenario, fact: str) -> None:
    """The fact is written as ``unknown``, so that the engine checks its name and leaves it out."""
    policy_scenario.facts[fact] = "unknown"


@given("these facts:")
def these_facts(policy_scenario: PolicyScenario, datatable: list[list[str]]) -> None:
    policy_scenario.facts.update(fact_rows(datatable))


@given(parsers.re(r"the service has these (?P<fact>[a-z_][a-z0-9_]*):"))
def service_has_records(policy_scenario: PolicyScenario, fact: str, datatable: list[list[str]]) -> None:
    """A list of records, one row each, one column a field: the fields are those of the list's record type."""
    policy_scenario.facts[fact] = records(datatable)


@given(parsers.re(r"the service has no (?P<fact>[a-z_][a-z0-9_]*)"))
def service_has_no_records(policy_scenario: PolicyScenario, fact: str) -> None:
    policy_scenario.facts[fact] = []


# --- When: the policy is applied ----------------------------------------------------------------


def _decide(request: pytest.FixtureRequest, state: PolicyScenario, as_of: str | None) -> None:
    policy = state.policy
    facts = dict(state.facts)
    if state.name is not None:
        name_fact = policy.model.service_name
        if not name_fact:
            pytest.fail("this policy names no fact as the service's name (`service name` in its policy header)", pytrace=False)
        facts[name_fact] = state.name
    when = as_of or state.file_as_of
    made = state.made = attempt("the policy cannot decide this service", lambda: policy.evaluate(facts, as_of=when, path="the scenario"))
    root = request.config.rootpath
    assert state.policy_path is not None
    coverage_of(request.config).record(shown_path(state.policy_path, root), policy, made, root)


@when(parsers.re(rf"the (?:rules are|policy is) applied{AS_AT}"))
def apply_policy(request: pytest.FixtureRequest, policy_scenario: PolicyScenario, as_of: str | None) -> None:
    _decide(request, policy_scenario, as_of)


@when(parsers.re(rf'the (?:rules|policy) in "(?P<path>[^"]+)" (?:are|is) applied{AS_AT}'))
def apply_rules_in(request: pytest.FixtureRequest, policy_scenario: PolicyScenario, path: str, as_of: str | None) -> None:
    policy_scenario.policy_path = policy_scenario.path(path)
    _decide(request, policy_scenario, as_of)


# --- Then: what was decided ----------------------------------------------------------------------


@then(parsers.re(r"the outcome is (?P<outcome>[\w-]+)"))
def outcome_is(policy_scenario: PolicyScenario, outcome: str) -> None:
    decision = policy_scenario.decision
    assert decision.outcome == outcome, f"the outcome is {decision.outcome}, not {outcome}{_summary(decision)}"


@then(parsers.re(r"the priority is (?P<priority>[\w-]+)"))
def priority_is(policy_scenario: PolicyScenario, priority: str) -> None:
    decision = policy_scenario.decision
    assert decision.priority == priority, f"the priority is {decision.priority}, not {priority}{_summary(decision)}"


@then(parsers.re(r"the reasons are (?P<names>.+)"))
def reasons_are(policy_scenario: PolicyScenario, names: str) -> None:
    decision = policy_scenario.decision
    expected = names_in(names)
    shown = ", ".join(decision.reasons) or "none"
    assert sorted(decision.reasons) == sorted(expected), f"the reasons are {shown}, not {', '.join(expected)}{_summary(decision)}"


@then("there are no reasons")
def no_reasons(policy_scenario: PolicyScenario) -> None:
    decision = policy_scenario.decision
    assert decision.reasons == (), f"there are reasons: {', '.join(decision.reasons)}{_summary(decision)}"


@then("the element outcomes are:")
def element_outcomes_are(policy_scenario: PolicyScenario, datatable: list[list[str]]) -> None:
    """Every item's outcome, in the list's order; a table with only its header says there are no items."""
    decision = policy_scenario.decision
    expected = [(name, outcome) for name, outcome in table_rows(datatable, ("name", "outcome"))]
    actual = [(e.name, e.outcome) for e in decision.elements]
    assert actual == expected, f"the element outcomes are {actual}, not {expected}{_summary(decision)}"


@then(parsers.re(r"the facts needed are (?P<names>[^:]+)"))
def needed_facts_are(policy_scenario: PolicyScenario, names: str) -> None:
    _needed_are(policy_scenario.decision, names_in(names))


@then("the facts needed are:")
def needed_facts_table(policy_scenario: PolicyScenario, datatable: list[list[str]]) -> None:
    """A one-column table of facts, or a ``fact | question`` table that checks each question too."""
    decision = policy_scenario.decision
    with_questions = bool(datatable) and len(datatable[0]) == 2
    rows = table_rows(datatable, ("fact", "question") if with_questions else ("fact",))
    _needed_are(decision, [row[0] for row in rows])
    if with_questions:
        asked = {q.fact: q.question for q in decision.questions}
        for fact, question in rows:
            assert asked.get(fact) == question, f"the question for {fact} is {asked.get(fact)!r}, not {question!r}"


def _needed_are(decision: Decision, expected: list[str]) -> None:
    assert len(decision.needed_facts) == len(set(decision.needed_facts)), f"a fact is asked for twice: {decision.needed_facts}"
    assert sorted(decision.needed_facts) == sorted(expected), (
        f"the facts needed are {', '.join(decision.needed_facts) or 'none'}, not {', '.join(expected)}{_summary(decision)}"
    )


@then("no facts are needed")
def no_facts_needed(policy_scenario: PolicyScenario) -> None:
    decision = policy_scenario.decision
    assert decision.needed_facts == (), f"facts are still needed: {', '.join(decision.needed_facts)}{_summary(decision)}"


@then(parsers.re(r'the officer is asked "(?P<question>.+)"'))
def officer_is_asked(policy_scenario: PolicyScenario, question: str) -> None:
    decision = policy_scenario.decision
    asked = [q.question for q in decision.questions]
    assert question in asked, f"the questions asked are {asked}{_summary(decision)}"


@then(parsers.re(r"the decision (?P<name>\w+) is (?P<value>[\w-]+)"))
def decision_is(policy_scenario: PolicyScenario, name: str, value: str) -> None:
    """A decision of the policy other than its outcome (one the outcome's rules read), for the service as a whole."""
    decision = policy_scenario.decision
    made = {e.decision: e.value for e in decision.trace if isinstance(e, t.DecisionMade) and e.item is None}
    assert name in made, f"the decision {name} is not in the explanation; the decisions are {', '.join(made)}{did_you_mean(name, made)}"
    assert made[name] == value, f"the decision {name} is {made[name]}, not {value}{_summary(decision)}"


@then(parsers.re(r"the result (?P<name>\w+) is (?P<value>.+)"))
def result_is(policy_scenario: PolicyScenario, name: str, value: str) -> None:
    """One of the values the policy header's ``results`` names, as an officer reads it (``£1,480``, ``80%``, ``unknown``)."""
    shown = {result: text for result, _value, text in policy_scenario.decision.results}
    assert name in shown, f"the policy reports no result {name}; its results are {', '.join(shown) or 'none'}{did_you_mean(name, shown)}"
    assert shown[name] == value.strip(), f"the result {name} is {shown[name]}, not {value.strip()}{_summary(policy_scenario.decision)}"


# --- Then: why ------------------------------------------------------------------------------------


@then(parsers.re(r"the outcome is decided by the rule (?P<label>\w+)"))
def decided_by(policy_scenario: PolicyScenario, label: str) -> None:
    decision = policy_scenario.decision
    assert decision.decided_by == label, f"the outcome is decided by {decision.decided_by or 'no rule'}, not {label}{_summary(decision)}"


@then("no rule decides the outcome")
def no_rule_decides(policy_scenario: PolicyScenario) -> None:
    decision = policy_scenario.decision
    assert decision.decided_by is None, f"the rule {decision.decided_by} decides the outcome{_summary(decision)}"


def _considered(decision: Decision, label: str) -> list[t.RuleConsidered]:
    found = [rule for rule in rules_considered(decision) if rule.label == label]
    if not found:
        labels = {rule.label for rule in rules_considered(decision)}
        pytest.fail(f"the rule {label} is not in the explanation of this decision{did_you_mean(label, labels)}{_summary(decision)}", pytrace=False)
    return found


def _cites(decision: Decision, label: str, document: str | None, section: str) -> None:
    citations = _considered(decision, label)[0].citations
    shown = "; ".join(f"{c.document} section {c.section!r}" for c in citations) or "nothing"
    assert any(c.section == section and document in (None, c.document) for c in citations), f"the rule {label} cites {shown}"


CITES = r'cites (?:the|(?P<document>\w+)) section "(?P<section>[^"]+)"'


@then(parsers.re(rf"the deciding rule {CITES}"))
def deciding_rule_cites(policy_scenario: PolicyScenario, document: str | None, section: str) -> None:
    decision = policy_scenario.decision
    assert decision.decided_by, f"no rule decided the outcome{_summary(decision)}"
    _cites(decision, decision.decided_by, document, section)


@then(parsers.re(rf"the rule (?P<label>\w+) {CITES}"))
def rule_cites(policy_scenario: PolicyScenario, label: str, document: str | None, section: str) -> None:
    _cites(policy_scenario.decision, label, document, section)


@then(parsers.re(rf"the rule (?P<label>\w+) (?P<words>{'|'.join(STATUS_WORDS)})(?: by (?P<by>\w+))?"))
def rule_status(policy_scenario: PolicyScenario, label: str, words: str, by: str | None) -> None:
    """The status of a rule in every decision that considered it (for a rule about list items: in each item's)."""
    decision = policy_scenario.decision
    found = _considered(decision, label)
    status = STATUS_WORDS[words]
    statuses = [rule.status for rule in found]
    assert all(s == status for s in statuses), f"the rule {label} is shown as {', '.join(statuses)}, not {status}\n{explain_text(decision)}"
    if by is not None:
        assert words == "is overridden", "only an overridden rule is overridden by another"
        shown = [rule.overridden_by for rule in found]
        assert all(b == by for b in shown), f"the rule {label} is overridden by {', '.join(map(str, shown))}, not {by}"


@then(parsers.re(r'the explanation says "(?P<text>.+)"'))
def explanation_says(policy_scenario: PolicyScenario, text: str) -> None:
    explanation = explain_text(policy_scenario.decision)
    assert text in explanation, f"the explanation does not say {text!r}; it reads:\n{explanation}"


@then(parsers.re(r'the explanation does not say "(?P<text>.+)"'))
def explanation_does_not_say(policy_scenario: PolicyScenario, text: str) -> None:
    explanation = explain_text(policy_scenario.decision)
    assert text not in explanation, f"the explanation says {text!r}; it reads:\n{explanation}"
