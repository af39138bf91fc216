"""The generated policy function: it agrees with the full path, and holds no rule-file text."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.haringey_services import generate
from policy_rules import PolicyError, load_policy
from tests.support.cli_helpers import HARINGEY
from tests.support.complete_facts import completed
from tests.support.sample_policies import EVERY_FORM, HOSTILE, every_form_facts

AS_OF = "2024-04-01"


def _view(d):
    return (d.outcome, d.priority, d.reasons, d.elements, d.needed_facts, d.decided_by)


def test_fast_and_traced_paths_agree_on_10000_generated_services() -> None:
    policy = load_policy(HARINGEY)
    # The first 8,000 are given every fact the policy declares: the generated function must decide each of them.
    services = [completed(policy, facts) for facts in generate(8_000, seed=41)] + generate(2_000, seed=42, missing=0.05)
    as_of = date(2024, 4, 1)
    fast_taken = 0
    for index, facts in enumerate(services):
        fast = policy.evaluate(facts, AS_OF, trace=False)
        full = policy.evaluate(facts, AS_OF, trace=True)
        assert _view(fast) == _view(full), facts["service"]
        typed, service = policy.facts_of(facts)
        assert fast.to_dict() == policy.decide_in_full(typed, service, as_of, trace=False).to_dict()
        assert policy.decide(typed, service, as_of, trace=False) == fast
        fast_taken += policy._function.decide(facts, as_of, AS_OF, index) is not None
    assert fast_taken >= 8_000


def test_evaluate_many_gives_what_evaluate_gives() -> None:
    policy = load_policy(HARINGEY)
    services = generate(500, seed=43) + generate(500, seed=44, missing=0.1)
    services[3] = {**services[3], "annual_spend": "£1,200,000"}  # text: the full validation reads it
    del services[5]["service"]
    many = list(policy.evaluate_many(services, AS_OF))
    assert many == [policy.evaluate(facts, AS_OF, trace=False, index=i) for i, facts in enumerate(services)]
    assert many[5].service == "#6"
    assert many[3].service == services[3]["service"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budget_available": 5_000_000.0}, "a float amount"),
        ({"budget_available": 5_000_000.5}, "a float amount with pence"),
        ({"has_capacity": 1}, "1 is not yes or no"),
        ({"elements": [{"name": "Lift", "specialist": "yes"}]}, "text yes/no in a list item"),
        ({"elements": [{"name": "   ", "specialist": True}]}, "a blank name"),
        ({"service": "unknown"}, "a name that means unknown"),
        ({"contract_end_date": "2020-W01-1"}, "a week date, which the full validation refuses"),
        ({"contract_end_date": "2020-01-31"}, "an ISO date as text"),
        ({"staff": 10**70}, "an amount too large"),
        ({"colour": "red"}, "an undeclared fact"),
        ({"elements": None}, "null: unknown, so the default applies"),
    ],
)
def test_facts_the_fast_path_does_not_take_are_decided_as_the_full_path_decides(change: dict, expected: str) -> None:
    policy = load_policy(HARINGEY)
    raw = {**generate(1, seed=45)[0], **change}
    try:
        full = policy.decide_in_full(*policy.facts_of(raw), date(2024, 4, 1), trace=False).to_dict()
    except PolicyError as error:
        full = str(error)
    try:
        fast = policy.evaluate(raw, AS_OF, trace=False).to_dict()
    except PolicyError as error:
        fast = str(error)
    assert fast == full, expected


@given(every_form_facts(), st.sampled_from([date(2021, 6, 1), date(2024, 4, 1)]))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_form_of_the_language_is_decided_alike(tmp_path_factory: pytest.TempPathFactory, facts: dict, as_of: date) -> None:
    policy = _every_form(tmp_path_factory)
    typed, service = policy.facts_of(facts)
    full = policy.decide_in_full(typed, service, as_of, trace=False)
    assert policy.evaluate(facts, as_of, trace=False) == full
    assert policy.decide(typed, service, as_of, trace=False) == full
    assert policy._function.decide(facts, as_of, as_of.isoformat(), 0) in (full, None)


_every: list = []


def _every_form(tmp_path_factory: pytest.TempPathFactory):
    if not _every:
        path = tmp_path_factory.mktemp("every") / "every.rules"
        path.write_text(EVERY_FORM, encoding="utf-8")
        _every.append(load_policy(path))
    return _every[0]


def test_hostile_names_and_strings_stay_data(tmp_path) -> None:
    rules = tmp_path / "hostile.rules"
    rules.write_text(HOSTILE, encoding="utf-8")
    policy = load_policy(rules)
    raw_source = policy.source()
    assert raw_source == policy._function.source
    raw_identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", raw_source))
    assert raw_identifiers <= {
        "def", "make", "decide", "K", "f", "as_of", "shown", "index", "if", "elif", "else", "not", "and", "or", "in", "is", "None", "NONE",
        "MISSING", "return", "tuple", "any", "all", "len", "sum", "bool", "D", "DIV", "param", "CannotDecide", "raise", "try", "except",
        "KeyError", "map", "type", "int", "str", "ta", "tb", "u", "v", "name", "given", "BUILD", "INFO", "ELEMENTS", "COMPRESS", "True", "False",
        "for", "strip", "lower", "get", "pass", "isdigit", "isascii", "float", "is_integer", "is_finite", "to_integral_value",
    } | {i for i in raw_identifiers if re.fullmatch(r"[cvrbhipelxu]\d+", i)}  # fmt: skip
    assert "import" not in raw_source and "os" not in raw_identifiers
    decision = policy.evaluate({"__class__": True, "eval": 20, "print": "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"}, AS_OF, trace=False)
    assert decision.outcome == "__del__"
    traced = policy.evaluate({"__class__": False, "eval": 5, "print": "x"}, AS_OF)
    assert traced.outcome == "__init__"
    assert not (tmp_path / "policy_rules_pwned").exists()
    import os

    assert not os.path.exists("/tmp/policy_rules_pwned")


GOOD_CELLS = {
    "yes/no": ["yes", "no", "Yes", "NO", "true", "False", "y", "N"],
    "money": ["4800000", "007", "0", "120000"],
    "elements": ["[]", '[{"name": "Lift", "specialist": true}]', '[{"name": "Cleaning", "specialist": false}, {"specialist": true}]'],
    "text": ["Facilities", "Libraries 4"],
    "date": ["2025-03-31"],
}
ODD_CELLS = {
    "yes/no": [" yes", "1", "0", "maybe", "", "unknown", "N/A", " ? "],
    "money": ["£4,800,000", "4,800,000", "-5", "3.5", "1e5", "", "unknown", " 12", "١٢", "9" * 30],
    "elements": ["", '[{"name": "Lift", "specialist": "yes"}]', '[{"name": "Lift"}]', "[1]", "{}", "nope"],
    "text": [" unknown ", "", "n/a"],
    "date": ["2025-02-30", "2020-W01-1", "", "31/03/2025"],
}


@st.composite
def register_rows(draw: st.DrawFn) -> dict[str, str]:
    """A register row as a CSV file gives it: every cell text, in many spellings; some rows have a few odd cells."""
    kinds = POLICY.model.fact_types
    odd = set(draw(st.lists(st.sampled_from(list(kinds)), max_size=2))) if draw(st.booleans()) else set()
    row = {}
    for name, t in kinds.items():
        kind = "elements" if name == "elements" else t.kind if t.kind in GOOD_CELLS else "money" if "number" in t.kind else "text"
        if name in odd and draw(st.integers(0, 4)) == 0:
            continue
        row[name] = draw(st.sampled_from((ODD_CELLS if name in odd else GOOD_CELLS)[kind]))
    if draw(st.integers(0, 20)) == 0:
        row["colour"] = "red"
    return row


POLICY = load_policy(HARINGEY)


@given(register_rows())
@settings(max_examples=600, deadline=None, derandomize=True)
def test_register_rows_of_text_are_decided_as_the_full_path_decides(row: dict[str, str]) -> None:
    as_of = date(2024, 4, 1)
    fast = POLICY.decide_fast(row, as_of, index=4)
    try:
        full = POLICY.decide_in_full(*POLICY.facts_of(row, index=4), as_of, trace=False)
    except PolicyError:
        assert fast is None
        return
    assert fast is None or fast == full


def test_register_rows_of_text_take_the_fast_path() -> None:
    row = {name: ("yes" if value is True else "no" if value is False else str(value)) for name, value in generate(1, seed=46)[0].items()}
    row["elements"] = '[{"name": "Cleaning", "specialist": false}, {"name": "Lifts", "specialist": true}]'
    fast = POLICY.decide_fast(row, date(2024, 4, 1))
    assert fast is not None
    assert fast == POLICY.evaluate(row, AS_OF, trace=False)
    assert [e.name for e in fast.elements] == ["Cleaning", "Lifts"]


NAMED = """
policy "named"
  service name ref
  outcome d

fact ref is text
fact a is yes/no

decision d
  outcomes x, y

rule base
  by default d is x

rule other
  exception to base
  when a
  then d is y
"""


def test_services_are_named_as_the_full_path_names_them(tmp_path) -> None:
    rules = tmp_path / "named.rules"
    rules.write_text(NAMED, encoding="utf-8")
    policy = load_policy(rules)
    rows = [{"ref": "Parks", "a": True}, {"a": False}, {"ref": 12, "a": False}, {"ref": "  ", "a": True}]
    fast = list(policy.evaluate_many(rows, AS_OF))
    assert [d.service for d in fast] == ["Parks", "#2", "12", "#4"]
    assert fast == [policy.decide_in_full(*policy.facts_of(row, index=i), date(2024, 4, 1), trace=False) for i, row in enumerate(rows)]
    assert [policy._function.decide(row, date(2024, 4, 1), AS_OF, i) is not None for i, row in enumerate(rows)] == [True, True, True, True]


def _reasons_policy(count: int) -> str:
    names = [f"r{i}" for i in range(count)]
    facts = "\n".join(f"fact {name} is yes/no" for name in names)
    return f"""
policy "reasons"
  outcome d
  reasons why

fact ends is date
{facts}

define why as those of
  {", ".join(names)}
  that hold

decision d
  outcomes open, closed

rule base
  by default d is open

rule ended
  exception to base
  when ends is before 2024-01-01
  then d is closed
"""


@pytest.mark.parametrize("count", [1, 8, 9])
@given(st.data())
@settings(max_examples=60, deadline=None, derandomize=True)
def test_reasons_are_those_that_hold_with_few_or_many_conditions(tmp_path_factory: pytest.TempPathFactory, count: int, data: st.DataObject) -> None:
    # Up to eight conditions are looked up in a table of every combination; more are picked out one by one.
    folder = tmp_path_factory.mktemp("reasons")
    (folder / "p.rules").write_text(_reasons_policy(count), encoding="utf-8")
    policy = load_policy(folder)
    held = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    facts = {"ends": "2025-06-30", **{f"r{i}": value for i, value in enumerate(held)}}
    fast = policy._function.decide(facts, date(2024, 4, 1), AS_OF, 0)
    assert fast is not None
    assert fast.reasons == tuple(f"r{i}" for i, value in enumerate(held) if value)
    assert fast == policy.decide_in_full(*policy.facts_of(facts), date(2024, 4, 1), trace=False)


def test_dates_read_from_text_are_remembered_within_a_bound(tmp_path) -> None:
    # A register repeats the same days: each text is read once, and what is kept stays small.
    from policy_rules.engine import policy_function

    (tmp_path / "p.rules").write_text(_reasons_policy(1), encoding="utf-8")
    policy = load_policy(tmp_path)
    as_of = date(2024, 4, 1)
    days = [date(2000, 1, 1).fromordinal(date(2000, 1, 1).toordinal() + i).isoformat() for i in range(policy_function._MEMO_SIZE + 500)]
    for day in days + days[:50]:
        fast = policy._function.decide({"ends": day, "r0": False}, as_of, AS_OF, 0)
        assert fast is not None and fast.outcome == ("closed" if day < "2024-01-01" else "open")
    memo = [c for c in policy._function.constants if type(c) is dict and any(type(k) is str and type(v) is date for k, v in c.items())]
    assert len(memo) == 1 and 0 < len(memo[0]) <= policy_function._MEMO_SIZE
    for wrong in ("2025-02-30", "2025-13-01"):
        assert policy._function.decide({"ends": wrong, "r0": False}, as_of, AS_OF, 0) is None
        assert wrong not in memo[0]
        with pytest.raises(PolicyError, match="2025-"):
            policy.evaluate({"ends": wrong, "r0": False}, AS_OF)


ASKED_IF_KNOWN = """
policy "asked if known"
  outcome d

fact ended is date
fact kind is one of a, b
fact flag is yes/no
fact amount is money

decision d
  outcomes open, closed, flagged, unsure

table t for d, first that applies
  row unsure_when_not_ended_or_early
    when ended is not known or ended is before 2000-01-01
    then unsure
  row closed_when_ended
    when ended is before 2024-01-01
    then closed
  row flagged_if_known
    when flag is known and flag and kind is b
    then flagged
  row flagged_kind_a
    when kind is a and flag
    then flagged
  otherwise open_otherwise
    then open
"""


@given(
    ended=st.one_of(st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)).map(date.isoformat)),
    kind=st.sampled_from(["a", "b"]),
    flag=st.one_of(st.none(), st.booleans()),
)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_a_fact_asked_only_whether_known_may_be_left_out(tmp_path_factory: pytest.TempPathFactory, ended: str | None, kind: str, flag: bool | None) -> None:
    # A fact left out is read as Absent: the generated function decides when no use of its value is reached, and gives up when one is.
    folder = tmp_path_factory.mktemp("known")
    (folder / "p.rules").write_text(ASKED_IF_KNOWN, encoding="utf-8")
    policy = load_policy(folder)
    facts: dict = {"kind": kind, "amount": 10}
    if ended is not None:
        facts["ended"] = ended
    if flag is not None:
        facts["flag"] = flag
    as_of = date(2024, 4, 1)
    fast = policy._function.decide(facts, as_of, AS_OF, 0)
    full = policy.decide_in_full(*policy.facts_of(facts), as_of, trace=False)
    reaches_absent_flag = ended is not None and ended >= "2024-01-01" and kind == "a" and flag is None
    assert (fast is None) == reaches_absent_flag
    if fast is not None:
        assert fast == full
    else:
        assert full.outcome == "undetermined" and full.needed_facts == ("flag",)
    assert policy.evaluate(facts, as_of, trace=False) == full
