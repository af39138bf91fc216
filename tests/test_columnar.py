"""The columnar mode (``engine.columnar``) decides every row as the row path does, on every output field.

The differential corpus of ``tests/form_corpus.py`` (every form of the
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

from policy_rules import Policy, PolicyError
from policy_rules.engine import columnar
from tests import form_corpus as corpus


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
    for (name, kind), (_name, value, _shown) in zip(policy._result_kinds, decision.results, strict=True):
        if value is not None and kind == "money":
            value = Decimal(value)
        elif value is not None and kind == "date":
            value = date.fromisoformat(value)
        row[name] = value
    row["needed_facts"] = list(decision.needed_facts)
    row["exact"] = decision.needed_facts_exact
    return row


def row_path(policy: Policy, raw: dict[str, Any], as_of: date, index: int = 0) -> Any:
    try:
        return expected_row(policy, policy.evaluate(raw, as_of, trace=False, index=index))
    except PolicyError as error:
        return ("error", type(error).__name__, str(error))


def columns(policy: Policy, rows: list[dict[str, Any]], as_of: date) -> tuple[list[Any], dict[str, int]]:
    table, stats = columnar.decide_columns(policy, columnar.table_of(policy.model, rows), as_of)
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
    unsupported = policy._columnar_function().unsupported
    if key == "lists":
        # A quantifier over a list inside a list item is a form this mode leaves to the row path: every row goes there, and says so.
        assert unsupported == "a list read inside a list"
        assert kept == 0
    else:
        assert unsupported is None
        assert kept > 0, "the columnar function decided no row itself"
