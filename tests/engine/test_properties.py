"""Property tests: the needed facts and ``undetermined`` are exact.

Hypothesis writes small random policies as rule text (yes/no facts, defined
values, a decision with a random exception tree, sometimes a second decision
reading the first), and random partial facts. A brute force over every
completion of the missing facts then says what the answer must be:

- the whole decision is a ``ConflictError`` when every completion conflicts;
- otherwise the outcome (the priority, an element outcome) is settled exactly
  when every completion gives the same one and none conflicts;
- a missing fact is needed exactly when some assignment of the other missing
  facts makes flipping it change the result (outcome, priority, element
  outcomes) or whether there is a conflict.

See ``docs/unknown-facts.md`` for why the engine's search is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules import ConflictError, Decision, Policy, load_policy
from policy_rules.engine.evaluator import evaluate_once, traced_evaluation

AS_OF = date(2020, 1, 1)
HARINGEY = Path(__file__).resolve().parents[2] / "rules" / "haringey"
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CONFLICT = ("conflict",)

_policies: dict[str, Policy] = {}
_folder: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _rules_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _folder.append(tmp_path_factory.mktemp("generated"))
    yield
    _folder.clear()


def policy_of(text: str) -> Policy:
    """Write the rule text to a .rules file and load it (once for each text)."""
    if text not in _policies:
        path = _folder[0] / f"p{len(_policies)}.rules"
        path.write_text(text)
        _policies[text] = load_policy(path)
    return _policies[text]


# --- brute force ----------------------------------------------------------------------


def outcome_tuple(d: Decision) -> tuple:
    return (d.outcome, d.priority, tuple(e.outcome for e in d.elements))


def brute_force(policy: Policy, variables: dict[str, tuple[Any, ...]], complete: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[tuple, tuple]:
    """The result of every completion of the missing variables: an outcome tuple or CONFLICT."""
    names = list(variables)
    results: dict[tuple, tuple] = {}
    for values in itertools.product(*(variables[n] for n in names)):
        try:
            d = policy.evaluate(complete(dict(zip(names, values, strict=True))), AS_OF, trace=False)
        except ConflictError:
            results[values] = CONFLICT
            continue
        assert not d.undetermined, "a decision on complete facts is never undetermined"
        assert d.needed_facts == ()
        results[values] = outcome_tuple(d)
    return results


def expected_needed(variables: dict[str, tuple[Any, ...]], results: dict[tuple, tuple]) -> list[str]:
    """The missing variables some flip of which changes the result, under some assignment of the others."""
    names = list(variables)
    needed = []
    for i, name in enumerate(names):
        others = [variables[n] for j, n in enumerate(names) if j != i]
        for rest in itertools.product(*others):
            seen = {results[(*rest[:i], v, *rest[i:])] for v in variables[name]}
            if len(seen) > 1:
                needed.append(name)
                break
    return needed


def check_against_brute_force(
    policy: Policy, known: Mapping[str, Any], variables: dict[str, tuple[Any, ...]], complete: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    results = brute_force(policy, variables, complete)
    possible = set(results.values())
    if possible == {CONFLICT}:
        with pytest.raises(ConflictError):
            policy.evaluate(dict(known), AS_OF, trace=False)
        return
    d = policy.evaluate(dict(known), AS_OF, trace=False)
    settled = [r for r in possible if r != CONFLICT]
    conflict = CONFLICT in possible
    outcomes = {r[0] for r in settled}
    expected_outcome = next(iter(outcomes)) if len(outcomes) == 1 and not conflict else "undetermined"
    assert d.outcome == expected_outcome
    priorities = {r[1] for r in settled}
    if policy.model.priority is None:
        expected_priority = None
    else:
        expected_priority = next(iter(priorities)) if len(priorities) == 1 and not conflict else "undetermined"
    assert d.priority == expected_priority
    for i, element in enumerate(d.elements):
        values = {r[2][i] for r in settled}
        assert element.outcome == (next(iter(values)) if len(values) == 1 and not conflict else "undetermined")
    assert d.undetermined == (len(possible) > 1)
    expected = expected_needed(variables, results)
    assert sorted(d.needed_facts) == sorted(expected)
    assert d.needed_facts_exact
    # The traced decision says the same.
    traced = policy.evaluate(dict(known), AS_OF)
    assert outcome_tuple(traced) == outcome_tuple(d)
    assert traced.needed_facts == d.needed_facts


# --- random policies ----------------------------------------------------------------------


@st.composite
def conditions(draw: st.DrawFn, atoms: list[str], depth: int = 2) -> str:
    """A random yes/no condition over the given atomic conditions."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        atom = draw(st.sampled_from(atoms))
        return f"not {atom}" if draw(st.booleans()) else atom
    form = draw(st.sampled_from(["and", "or", "not", "any", "all", "none", "at least"]))
    if form == "not":
        return f"not ({draw(conditions(atoms, depth - 1))})"
    parts = draw(st.lists(conditions(atoms, depth - 1), min_size=2, max_size=3))
    if form in ("and", "or"):
        return "(" + f" {form} ".join(parts) + ")"
    if form == "at least":
        return f"at least {draw(st.integers(1, len(parts)))} of ({', '.join(parts)})"
    return f"{form} of ({', '.join(parts)})"


@st.composite
def exception_tree(draw: st.DrawFn, decision: str, outcomes: list[str], atoms: list[str], parent: str, depth: int, counter: list[int]) -> list[str]:
    """Rules that are exceptions to ``parent`` (and exceptions to them, down to ``depth``)."""
    rules = []
    if depth == 0:
        return rules
    for _ in range(draw(st.integers(0, 2))):
        counter[0] += 1
        label = f"{decision}_r{counter[0]}"
        rules.append(f"rule {label}\n  exception to {parent}\n  when {draw(conditions(atoms))}\n  then {decision} is {draw(st.sampled_from(outcomes))}\n")
        rules.extend(draw(exception_tree(decision, outcomes, atoms, label, depth - 1, counter)))
    return rules


def decision_text(draw: st.DrawFn, name: str, outcomes: list[str], atoms: list[str], for_each: str = "") -> str:
    text = f"decision {name}{for_each}\n  outcomes {', '.join(outcomes)}\n\nrule {name}_default\n  by default {name} is {draw(st.sampled_from(outcomes))}\n\n"
    return text + "\n".join(draw(exception_tree(name, outcomes, atoms, f"{name}_default", 3, [0])))


def defines_text(draw: st.DrawFn, atoms: list[str]) -> tuple[str, list[str]]:
    """A few ``define``s, each reading the facts and the defines before it."""
    text = ""
    names = []
    for i in range(draw(st.integers(0, 3))):
        body = draw(conditions([*atoms, *names]))
        names.append(f"g{i}")
        text += f"define g{i} as {body}\n\n"
    return text, names


def partial(draw: st.DrawFn, domains: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    known = {}
    for name, domain in domains.items():
        if draw(st.booleans()):
            known[name] = draw(st.sampled_from(domain))
    return known


@st.composite
def yes_no_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]:
    facts = [f"f{i}" for i in range(draw(st.integers(3, 6)))]
    text = "".join(f"fact {f} is yes/no\n" for f in facts) + "\n"
    defines, names = defines_text(draw, facts)
    text += defines
    outcomes = [f"o{i}" for i in range(draw(st.integers(2, 4)))]
    text += decision_text(draw, "d", outcomes, [*facts, *names])
    header = 'policy "generated"\n  outcome d\n'
    if draw(st.booleans()):
        reads_d = [f"(d is {o})" for o in outcomes] + [f"(d is one of ({outcomes[0]}, {outcomes[-1]}))"]
        text += "\n" + decision_text(draw, "p", ["high", "low"], [*facts, *names, *reads_d])
        header += "  priority p\n"
    domains = {f: (True, False) for f in facts}
    return header + "\n" + text, partial(draw, domains), domains


@given(yes_no_cases())
@SETTINGS
def test_needed_facts_are_exact_for_yes_no_facts(case: tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]) -> None:
    text, known, domains = case
    policy = policy_of(text)
    missing = {name: domain for name, domain in domains.items() if name not in known}
    check_against_brute_force(policy, known, missing, lambda values: {**known, **values})


@st.composite
def enum_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]:
    levels = ["low", "mid", "high"]
    kinds = ["red", "green"]
    text = "fact limit is one of low, mid, high\nfact size is one of low, mid, high\nfact colour is one of red, green\nfact b0 is yes/no\n\n"
    atoms = [
        "b0",
        *(f"(size is {v})" for v in levels),
        "(size is one of (low, high))",
        "(size is not mid)",
        "(colour is red)",
        "(colour is not green)",
        "(limit is high)",
        "(size is limit)",
        "(size is one of (limit, low))",
        "(limit is not one of (size, mid))",
    ]
    defines, names = defines_text(draw, atoms)
    text += defines
    outcomes = [f"o{i}" for i in range(draw(st.integers(2, 4)))]
    text += decision_text(draw, "d", outcomes, [*atoms, *names])
    domains: dict[str, tuple[Any, ...]] = {"limit": tuple(levels), "size": tuple(levels), "colour": tuple(kinds), "b0": (True, False)}
    return 'policy "generated"\n  outcome d\n\n' + text, partial(draw, domains), domains


@given(enum_cases())
@SETTINGS
def test_needed_facts_are_exact_for_listed_value_facts(case: tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]) -> None:
    text, known, domains = case
    policy = policy_of(text)
    missing = {name: domain for name, domain in domains.items() if name not in known}
    check_against_brute_force(policy, known, missing, lambda values: {**known, **values})


@st.composite
def list_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, tuple[Any, ...]]]:
    # `elsewhere` is optional (default no): an item without it is not unknown, so it is never a variable.
    text = "record part\n  field name is text\n  field specialist is yes/no\n  field urgent is yes/no\n  field elsewhere is yes/no\n    default no\n\n"
    text += "fact parts is list of part\nfact b0 is yes/no\nfact b1 is yes/no\n\n"
    quantified = [
        "(any x in parts where x.specialist)",
        "(every x in parts where x.specialist)",
        "(no x in parts where x.urgent)",
        "(any x in parts where (x.specialist and x.urgent))",
        "((number of x in parts where x.specialist) is at least 2)",
        "(any x in parts where (x.specialist or x.elsewhere))",
    ]
    atoms = ["b0", "b1", *quantified]
    outcomes = ["o0", "o1", "o2"]
    text += decision_text(draw, "d", outcomes, atoms)
    item_atoms = ["b0", "item.specialist", "item.urgent", "item.elsewhere", "(d is o0)", "(d is one of (o1, o2))"]
    text += "\n" + decision_text(draw, "e", ["keep", "move", "drop"], item_atoms, " for each item in parts")
    items = []
    domains: dict[str, tuple[Any, ...]] = {"b0": (True, False), "b1": (True, False)}
    for i in range(draw(st.integers(0, 3))):
        item: dict[str, Any] = {"name": f"part {i}"}
        for field in ("specialist", "urgent"):
            if draw(st.booleans()):
                item[field] = draw(st.booleans())
            else:
                domains[f"parts[{i}].{field}"] = (True, False)
        if draw(st.booleans()):
            item["elsewhere"] = draw(st.booleans())
        items.append(item)
    known = {name: draw(st.booleans()) for name in ("b0", "b1") if draw(st.booleans())}
    for name in known:
        del domains[name]
    return 'policy "generated"\n  outcome d\n  element outcomes e\n\n' + text, known, items, domains


@given(list_cases())
@SETTINGS
def test_needed_facts_are_exact_for_fields_of_list_items(case: tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, tuple[Any, ...]]]) -> None:
    text, known, items, domains = case
    policy = policy_of(text)

    def complete(values: dict[str, Any]) -> dict[str, Any]:
        filled = [dict(item) for item in items]
        facts = dict(known)
        for name, value in values.items():
            if name.startswith("parts["):
                index, field = name[len("parts[") :].split("].")
                filled[int(index)][field] = value
            else:
                facts[name] = value
        return {**facts, "parts": filled}

    check_against_brute_force(policy, {**known, "parts": items}, domains, complete)


@st.composite
def number_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]:
    """Comparisons of one missing number, whole number or date with known values: bounds on it."""
    text = "fact x is number\nfact w is whole number\nfact day is date\nfact limit is number\nfact b0 is yes/no\n\n"
    atoms = [
        "b0",
        "(x > 1)",
        "(x is at most 2)",
        "(x = 1.5)",
        "(x <> 2)",
        "(x is below limit)",
        "(limit is at least x)",
        "(w > 1)",
        "(w < 3)",
        "(w = 2)",
        "(day is before 2020-01-02)",
        "(day is after 2020-01-01)",
        "(day is 2020-01-03)",
    ]
    defines, names = defines_text(draw, atoms)
    text += defines
    outcomes = [f"o{i}" for i in range(draw(st.integers(2, 3)))]
    text += decision_text(draw, "d", outcomes, [*atoms, *names])
    # every region between and around the constants compared with, so the brute force is complete
    domains: dict[str, tuple[Any, ...]] = {
        "x": tuple(Decimal(v) for v in ("0", "1", "1.5", "1.75", "2", "2.5", "3", "4")),
        "w": tuple(Decimal(v) for v in range(5)),
        "day": (date(2019, 12, 31), date(2020, 1, 1), date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 4)),
        "b0": (True, False),
    }
    known = partial(draw, domains)
    known["limit"] = draw(st.sampled_from([Decimal(1), Decimal(3)]))
    return 'policy "generated"\n  outcome d\n\n' + text, known, domains


@given(number_cases())
@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_needed_facts_are_exact_for_bounds_on_missing_numbers_and_dates(case: tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]) -> None:
    text, known, domains = case
    policy = policy_of(text)
    missing = {name: domain for name, domain in domains.items() if name not in known}
    check_against_brute_force(policy, known, missing, lambda values: {**known, **values})


# --- the traced evaluation agrees with the fast one on the Haringey rules ---------------------


HARINGEY_POLICY = load_policy(HARINGEY)
YES_NO_FACTS = [name for name, t in HARINGEY_POLICY.model.fact_types.items() if t.kind == "yes/no"]


@st.composite
def haringey_facts(draw: st.DrawFn) -> dict[str, Any]:
    facts: dict[str, Any] = {"service": "Generated"}
    for name in YES_NO_FACTS:
        choice = draw(st.sampled_from([True, False, None]))
        if choice is not None:
            facts[name] = choice
    money = st.one_of(st.none(), st.integers(0, 3_000_000))
    for name in ("annual_spend", "in_house_annual_cost", "budget_available"):
        value = draw(money)
        if value is not None:
            facts[name] = value
    if draw(st.booleans()):
        facts["elements"] = [
            {"name": f"part {i}", **({"specialist": s} if (s := draw(st.sampled_from([True, False, None]))) is not None else {})}
            for i in range(draw(st.integers(0, 3)))
        ]
    return facts


@given(haringey_facts())
@settings(max_examples=120, deadline=None, derandomize=True)
def test_traced_and_fast_evaluations_agree_on_haringey(raw: dict[str, Any]) -> None:
    policy = HARINGEY_POLICY
    facts, service = policy.facts_of(raw)
    compiled = policy._compiled
    fast, _ = evaluate_once(compiled, facts, AS_OF, service=service)
    traced, env = traced_evaluation(compiled, facts, AS_OF, service)
    assert traced == fast
    made = {(m.decision, m.item.split(" ")[0] if m.item else None): m.value for m in env.decisions_made}
    model = compiled.model
    shown = lambda v: "undetermined" if not isinstance(v, str) else v  # noqa: E731
    assert made[(model.outcome, None)] == shown(fast.outcome)
    assert made[(model.priority, None)] == shown(fast.priority)
    for i, value in enumerate(fast.elements):
        assert made[(model.element_outcomes, f"elements[{i}]")] == shown(value)
    with_trace = policy.decide(facts, service, AS_OF, trace=True)
    without = policy.decide(facts, service, AS_OF, trace=False)
    assert outcome_tuple(with_trace) == outcome_tuple(without)
    assert with_trace.needed_facts == without.needed_facts
    assert with_trace.reasons == without.reasons
