"""The columnar mode (``engine.columnar``) decides every row as the row path does, on every output field.

The differential corpus of ``tests/support/form_corpus.py`` (every form of the
language, with facts missing) goes through ``Policy.decide_columns`` and each
field of each row is compared with ``Policy.evaluate``; a row the row path
refuses (a conflict, a bad value) makes ``decide_columns`` raise the same
error. Small rule sets of their own test the engine's choices: Kleene logic on
nulls, default logic and conflicts, quantifiers over list columns, exact money.
"""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules import Policy, PolicyError, load_policy
from policy_rules.engine import columnar
from tests.support import form_corpus as corpus


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("columnar")


def expected_row(policy: Policy, decision: Any) -> dict[str, Any]:
    """What the columnar output row must hold for a decision of the row path: the JSON decision's fields, typed."""
    row: dict[str, Any] = {
        "service": decision.service,
        "outcome": decision.outcome,
        "priority": decision.priority,
        "reasons": list(decision.reasons),
        "elements": [{"name": e.name, "outcome": e.outcome} for e in decision.elements],
    }
    for (name, kind), (_name, value, _shown) in zip(policy.result_kinds, decision.results, strict=True):
        if value is not None and kind == "money":
            value = Decimal(value)
        elif value is not None and kind == "date":
            value = date.fromisoformat(value)
        row[name] = value
    row["needed_facts"] = list(decision.needed_facts)
    row["exact"] = decision.needed_facts_exact
    if policy.result_kinds:
        row["results_needed"] = list(decision.results_needed)
    return row


def row_path(policy: Policy, raw: dict[str, Any], as_of: date, index: int = 0) -> Any:
    try:
        return expected_row(policy, policy.evaluate(raw, as_of, trace=False, index=index))
    except PolicyError as error:
        return ("error", type(error).__name__, str(error))


def columns(policy: Policy, rows: list[dict[str, Any]], as_of: date) -> tuple[list[Any], dict[str, int]]:
    table, stats = policy.decide_columns_counted(columnar.table_of(policy.model, rows), as_of)
    return table.to_pylist(), stats


@pytest.mark.parametrize("key", sorted(corpus.POLICIES))
def test_the_corpus_is_decided_in_columns_as_the_row_path_decides_it(folder: Path, key: str) -> None:
    policy = corpus.policy(key, folder)
    rows = corpus.cases(key)
    kept = 0
    for as_of in corpus.AS_OF:
        expected = [row_path(policy, raw, as_of) for raw in rows]
        clean = [raw for raw, e in zip(rows, expected, strict=True) if not isinstance(e, tuple)]
        got, stats = columns(policy, clean, as_of)
        assert got == [row_path(policy, raw, as_of, index) for index, raw in enumerate(clean)], (key, as_of)
        kept += len(clean) - sum(stats.values())
        for raw, e in zip(rows, expected, strict=True):
            if isinstance(e, tuple):
                try:
                    columnar.table_of(policy.model, [raw])
                except (ValueError, decimal.InvalidOperation, pa.ArrowException):
                    continue  # a cell no typed column holds (text for an amount): the reader's to refuse, not this mode's
                with pytest.raises(PolicyError) as raised:
                    columns(policy, [raw], as_of)
                assert ("error", type(raised.value).__name__, str(raised.value)) == e
    unsupported = policy._engine.columnar.unsupported
    if key == "lists":
        # A quantifier over a list inside a list item is a form this mode leaves to the row path: every row goes there, and says so.
        assert unsupported == "a list read inside a list"
        assert kept == 0
    elif key == "amounts":
        # A value decided for each item of a list and read by another value: every row of the form goes to the row path, decided exactly as above.
        assert unsupported == "a decision for each item that another value reads"
        assert kept == 0
    else:
        assert unsupported is None
        assert kept > 0, "the columnar function decided no row itself"


SMALL = """
policy "Small"
  version "1"
  service name service
  outcome verdict
  reasons grounds
  element outcomes part_verdict
  results grant

fact service is text
fact urgent is yes/no
fact local is yes/no
fact income is money
fact parts is list of part
  default empty

record part
  field name is text
  field risky is yes/no

define grounds as those of urgent that hold

decision verdict
  outcomes help, refuse, review

rule by_default
  by default verdict is refuse

rule urgent_and_local
  exception to by_default
  when urgent and local
  then verdict is help

rule risky_parts
  exception to by_default
  when any p in parts where (p.risky)
  then verdict is review

decision part_verdict for each p in parts
  outcomes help, refuse, review, external

rule part_as_service
  by default part_verdict is verdict

rule risky_part
  exception to part_as_service
  when p.risky
  then part_verdict is external

decision grant is money

rule grant_paid
  by default grant is income - £100
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("small") / "small.rules"
    path.write_text(SMALL, encoding="utf-8")
    return load_policy(path)


AS_OF = date(2025, 1, 1)


def test_kleene_logic_decides_a_row_with_a_null_that_cannot_matter(small: Policy) -> None:
    """``urgent and local`` is false when ``urgent`` is: the null ``local`` cannot change it, so the columnar function decides the row itself."""
    rows = [{"service": "a", "urgent": False, "income": 500, "parts": []}]
    table, stats = small.decide_columns_counted(columnar.table_of(small.model, rows), AS_OF)
    assert stats == {columnar.OPEN: 0, columnar.ERROR: 0, columnar.CELL: 0, columnar.FORM: 0}
    assert table.to_pylist() == [row_path(small, rows[0], AS_OF)]
    assert table.to_pylist()[0]["reasons"] is not None


def test_a_row_left_open_goes_to_the_row_path_with_its_needed_facts(small: Policy) -> None:
    rows = [{"service": "a", "urgent": True, "income": 500}]
    table, stats = small.decide_columns_counted(columnar.table_of(small.model, rows), AS_OF)
    assert stats[columnar.OPEN] == 1
    assert table.column("needed_facts").to_pylist() == [["local"]]
    assert table.to_pylist() == [row_path(small, rows[0], AS_OF)]


def test_two_exceptions_that_apply_together_with_different_outcomes_raise_as_the_row_path_does(small: Policy) -> None:
    rows = [{"service": "a", "urgent": True, "local": True, "income": 500, "parts": [{"name": "lift", "risky": True}]}]
    with pytest.raises(PolicyError) as columns_error:
        small.decide_columns(columnar.table_of(small.model, rows), AS_OF)
    with pytest.raises(PolicyError) as row_error:
        small.evaluate(rows[0], AS_OF, trace=False)
    assert type(columns_error.value) is type(row_error.value)
    assert str(columns_error.value) == str(row_error.value)


def test_elements_and_money_come_out_typed_and_in_place(small: Policy) -> None:
    rows = [
        {"service": "a", "urgent": False, "local": True, "income": Decimal("100.10"), "parts": [{"name": "lift", "risky": True}, {"risky": False}]},
        {"service": "b", "urgent": True, "local": True, "income": Decimal("1234567.89"), "parts": []},
    ]
    table = small.decide_columns(columnar.table_of(small.model, rows), AS_OF)
    assert table.schema.field("grant").type == pa.decimal128(38, 2)
    assert table.column("grant").to_pylist() == [Decimal("0.10"), Decimal("1234467.89")]
    assert table.column("elements").to_pylist() == [[{"name": "lift", "outcome": "external"}, {"name": "parts[1]", "outcome": "review"}], []]
    assert table.column("outcome").to_pylist() == ["review", "help"]
    assert table.column("reasons").to_pylist() == [[], ["urgent"]]
    assert table.schema.metadata == {b"row_path": b"0"}


def test_a_money_cell_below_its_least_is_refused_as_the_row_path_refuses_it(small: Policy) -> None:
    rows = [{"service": "a", "urgent": True, "local": True, "income": -5}]
    with pytest.raises(PolicyError) as raised:
        small.decide_columns(columnar.table_of(small.model, rows), AS_OF)
    assert "income" in str(raised.value)


def test_a_column_of_a_type_the_mode_does_not_read_sends_every_row(small: Policy) -> None:
    """Money as binary floats is never computed with: the row path reads each value as it reads a facts file's."""
    table = pa.table({"service": ["a"], "urgent": [True], "local": [False], "income": pa.array([150.5], pa.float64())})
    out, stats = small.decide_columns_counted(table, AS_OF)
    assert stats[columnar.FORM] == 1
    assert out.column("grant").to_pylist() == [Decimal("50.50")]


cells = st.one_of(st.none(), st.booleans())
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {"urgent": cells, "local": cells, "income": st.one_of(st.none(), st.integers(0, 10**9).map(lambda p: Decimal(p) / 100))},
        optional={"parts": st.lists(st.fixed_dictionaries({"risky": cells}, optional={"name": st.text(min_size=1, max_size=4)}), max_size=3)},
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(rows_strategy)
def test_any_batch_is_decided_in_columns_as_row_by_row(small: Policy, rows: list[dict[str, Any]]) -> None:
    expected = [row_path(small, {k: v for k, v in raw.items() if v is not None}, AS_OF, index) for index, raw in enumerate(rows)]
    if any(isinstance(e, tuple) for e in expected):
        with pytest.raises(PolicyError):
            columns(small, rows, AS_OF)
        return
    assert columns(small, rows, AS_OF)[0] == expected
