"""The columnar mode's vectorised amounts (``engine.columnar._vectorised``) give every result the row path gives, to the last digit.

Money and number arithmetic, the greater/smaller of two amounts, ``if then
else``, roundings in every direction and unit, and totals over list items are
worked out by Arrow's decimal kernels when their types hold the row path's
``Decimal`` values exactly; the batches below (hypothesis: wide and narrow
amounts, unknown cells, halves that test the rounding direction) are decided
in columns and each row is compared with ``Policy.evaluate``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules import Policy, load_policy
from policy_rules.engine import columnar
from tests.engine.test_columnar import row_path

AMOUNTS = """
policy "Amounts"
  version "1"
  service name service
  outcome verdict
  results net, capped, works, near, down, up, whole, by_choice, wide, taxed, band_rate

fact service is text
fact income is money
  may be negative
fact allowance is money
  may be negative
fact rate is number
fact flag is yes/no
fact parts is list of part
  default empty

parameter tax is a marginal scale
  bracket
    threshold £0 from 2015-01-01
    rate 0% from 2015-01-01
  bracket
    threshold £12,570 from 2015-01-01
    threshold £12,750.50 from 2025-01-01
    rate 20% from 2015-01-01
  bracket
    threshold £50,270 from 2015-01-01
    rate 40% from 2015-01-01
    rate 42.5% from 2025-01-01

parameter band is a banded scale of percentage
  band
    threshold £0 from 2015-01-01
    rate 100% from 2015-01-01
  band
    threshold £100 from 2015-01-01
    rate 75% from 2015-01-01
  band
    threshold £200.01 from 2015-01-01
    rate 0% from 2015-01-01

record part
  field name is text
  field cost is money
    may be negative

decision verdict
  outcomes paid, nothing

rule by_default
  by default verdict is nothing

rule paid
  exception to by_default
  when net > £0
  then verdict is paid

decision net is money

rule net_rule
  by default net is income - allowance * rate

decision capped is money

rule capped_rule
  by default capped is the greater of £0 and (the smaller of £1000 and (allowance - income * rate))

decision works is money

rule works_rule
  by default works is total of p.cost for each p in parts

decision near is money

rule near_rule
  by default near is income * rate rounded to the nearest penny

decision down is money

rule down_rule
  by default down is income * rate rounded down to the pound

decision up is money

rule up_rule
  by default up is -(income * rate) rounded up to the pound

decision whole is number

rule whole_rule
  by default whole is rate * rate rounded to the nearest whole number

decision by_choice is money

rule by_choice_rule
  by default by_choice is if flag then income + allowance else income - allowance

decision wide is money

rule wide_rule
  by default wide is rate * rate * rate * rate * income

decision taxed is money

rule taxed_rule
  by default taxed is tax applied to income

decision band_rate is percentage

rule band_rule
  by default band_rate is band applied to allowance
"""

AS_OF = date(2025, 1, 1)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("amounts") / "amounts.rules"
    path.write_text(AMOUNTS, encoding="utf-8")
    return load_policy(path)


def pennies(limit: int) -> st.SearchStrategy[Decimal | None]:
    return st.none() | st.integers(-limit, limit).map(lambda p: Decimal(p) / 100) | st.sampled_from([Decimal("0.005"), Decimal("-0.5"), Decimal("2.5")])


RATES = st.none() | st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("-1.5"), Decimal("0.125"), Decimal("3")]) | st.decimals(-100, 100, places=3)
PART = st.fixed_dictionaries({"name": st.text(max_size=3), "cost": pennies(10**6)})
ROW = st.fixed_dictionaries(
    {
        "service": st.text(max_size=3),
        "income": pennies(10**12),
        "allowance": pennies(10**8),
        "rate": RATES,
        "flag": st.none() | st.booleans(),
        "parts": st.lists(PART, max_size=3),
    }
)


def known(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25), st.sampled_from([date(2024, 12, 31), AS_OF]))
def test_amounts_decided_in_columns_equal_the_row_path_row_by_row(policy: Policy, rows: list[dict[str, Any]], as_of: date) -> None:
    rows = [known(row) for row in rows]
    table, _stats = policy.decide_columns_counted(columnar.table_of(policy.model, rows), as_of)
    assert table.to_pylist() == [row_path(policy, raw, as_of, index) for index, raw in enumerate(rows)]


def test_the_kernels_decide_amounts_without_the_per_value_python(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """All-different incomes of narrow types: every operator is a kernel, none a Python call per distinct value."""
    calls: list[str] = []
    python = columnar.Runtime.python
    monkeypatch.setattr(
        columnar.Runtime, "python", lambda self, fn, operands, m, parent, out: calls.append("python") or python(self, fn, operands, m, parent, out)
    )
    rows = [
        {"service": str(i), "income": Decimal(i) / 100, "allowance": Decimal(7), "rate": Decimal("0.2"), "flag": i % 2 == 0, "parts": []} for i in range(200)
    ]
    table, stats = policy.decide_columns_counted(columnar.table_of(policy.model, rows), AS_OF)
    assert table.to_pylist() == [row_path(policy, raw, AS_OF, index) for index, raw in enumerate(rows)]
    assert stats == {columnar.OPEN: 0, columnar.ERROR: 0, columnar.CELL: 0, columnar.FORM: 0}
    assert calls == []


def test_half_pennies_round_away_from_zero_and_down_and_up_are_floor_and_ceiling() -> None:
    x = pa.array([Decimal("0.005"), Decimal("-0.005"), Decimal("2.5"), Decimal("-2.5"), None], pa.decimal128(4, 3))
    assert columnar._vectorised("rounded nearest penny", [x]).to_pylist() == [Decimal("0.01"), Decimal("-0.01"), Decimal("2.50"), Decimal("-2.50"), None]
    assert columnar._vectorised("rounded nearest pound", [x]).to_pylist() == [Decimal("0"), Decimal("0"), Decimal("3"), Decimal("-3"), None]
    assert columnar._vectorised("rounded down pound", [x]).to_pylist() == [Decimal("0"), Decimal("-1"), Decimal("2"), Decimal("-3"), None]
    assert columnar._vectorised("rounded up pound", [x]).to_pylist() == [Decimal("1"), Decimal("0"), Decimal("3"), Decimal("-2"), None]


def test_a_product_wider_than_the_row_path_context_is_left_to_python() -> None:
    wide = columnar._tight(pa.array([Decimal("12345678901234.56")], pa.decimal128(38, 2)))
    assert columnar._vectorised("*", [wide, wide]) is None
    assert columnar._vectorised("+", [wide, wide]).to_pylist() == [Decimal("24691357802469.12")]
