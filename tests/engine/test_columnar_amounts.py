"""The columnar mode's amounts give every result the row path gives, to the last digit, by either of its two routes.

Money and number arithmetic, the greater/smaller of two amounts, ``if then
else``, roundings in every direction and unit, division by a constant, scales
and totals over list items are worked out in int64 fixed point when each
operation's bounds are proved to fit (``engine.columnar.Fixed``), else by
Arrow's decimal kernels when their types hold the row path's ``Decimal``
values exactly (``_vectorised``), else in Python per distinct value. The
batches below (hypothesis: wide and narrow amounts, unknown cells, halves that
test the rounding direction, amounts beyond int64) are decided in columns by
both routes and each row is compared with ``Policy.evaluate``; the fixed-point
operations are also compared one by one with ``Decimal``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules import Policy, load_policy
from policy_rules.engine import amounts, columnar
from tests.engine.test_columnar import row_path

AMOUNTS = """
policy "Amounts"
  version "1"
  service name service
  outcome verdict
  results net, capped, works, near, down, up, whole, by_choice, wide, taxed, band_rate, quarter, by_minus, counted

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
  field counts is yes/no

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

decision quarter is money

rule quarter_rule
  by default quarter is income / 8 rounded to the nearest penny

decision by_minus is money

rule by_minus_rule
  by default by_minus is income / -2.5

decision counted is money

rule counted_rule
  by default counted is total of (p.cost * rate) for each p in parts where (p.counts)
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
PART = st.fixed_dictionaries({"name": st.text(max_size=3), "cost": pennies(10**6), "counts": st.none() | st.booleans()})
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


@pytest.fixture(params=["int64", "decimal128"])
def route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which route the amounts take: int64 fixed point first (as decided), or the decimal128 kernels alone (its fallback, kept and tested)."""
    if request.param == "decimal128":
        monkeypatch.setattr(columnar, "_fixed_apply", lambda op, operands: None)
        monkeypatch.setattr(columnar, "_fixed_total", lambda value, condition, parent, n, offsets=None: None)
        monkeypatch.setattr(columnar, "fixed", lambda x: None)
    return str(request.param)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the route holds for every input
@given(rows=st.lists(ROW, min_size=1, max_size=25), as_of=st.sampled_from([date(2024, 12, 31), AS_OF]))
def test_amounts_decided_in_columns_equal_the_row_path_row_by_row(policy: Policy, route: str, rows: list[dict[str, Any]], as_of: date) -> None:
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


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Record each call of ``columnar.<name>`` (the decimal128 route's entry points), calling it as before."""
    calls: list[str] = []
    original = getattr(columnar, name)

    def recorded(*args: Any) -> Any:
        calls.append(name)
        return original(*args)

    monkeypatch.setattr(columnar, name, recorded)
    return calls


def test_everyday_amounts_are_int64_fixed_point_without_decimal_kernels(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pennies, rates and list items of everyday sizes: every operator, total and money result is worked out in int64; the tables keep their types."""
    calls = spy(monkeypatch, "_vectorised") + spy(monkeypatch, "_grouped_sum")
    rows = [
        {
            "service": str(i),
            "income": Decimal(i * 37 - 3000) / 100,
            "allowance": Decimal(i % 7) - Decimal("2.5"),
            "rate": Decimal("0.125") * (i % 5),
            "flag": i % 2 == 0,
            "parts": [{"name": "a", "cost": Decimal(i) / 4, "counts": i % 3 == 0}, {"cost": Decimal(-i), "counts": True}],
        }
        for i in range(300)
    ]
    batch = columnar.table_of(policy.model, rows)
    table, stats = policy.decide_columns_counted(batch, AS_OF)
    assert table.to_pylist() == [row_path(policy, raw, AS_OF, index) for index, raw in enumerate(rows)]
    assert stats == {columnar.OPEN: 0, columnar.ERROR: 0, columnar.CELL: 0, columnar.FORM: 0}
    assert calls == []
    assert batch.schema.field("income").type == pa.decimal128(30, 10)
    assert {table.schema.field(name).type for name, kind in policy.result_kinds if kind == "money"} == {pa.decimal128(38, 2)}


HUGE = Decimal(10**20)


@pytest.mark.parametrize(
    "row",
    [
        {"income": HUGE, "allowance": Decimal(7), "rate": Decimal("0.5")},  # 10**20 pounds: 10**22 pennies, beyond int64
        {"income": Decimal(1), "allowance": -HUGE, "rate": Decimal("2.5"), "flag": True},
        {"income": Decimal("92233720368547758.07"), "allowance": Decimal(0), "rate": Decimal("1")},  # the largest int64 in pennies
        {"income": Decimal("-92233720368547758.07"), "allowance": Decimal("0.01"), "rate": Decimal("-1"), "flag": False},
        {"income": Decimal(5), "allowance": Decimal(1), "rate": Decimal("10000000000.001")},  # each value fits, a product does not
    ],
)
def test_a_batch_beyond_int64_takes_the_decimal_route_and_still_equals_the_row_path(policy: Policy, monkeypatch: pytest.MonkeyPatch, row: dict) -> None:
    calls = spy(monkeypatch, "_vectorised")
    small = {"service": "small", "income": Decimal("12.34"), "allowance": Decimal(1), "rate": Decimal("0.2"), "parts": []}
    rows = [{"service": "big", "parts": [], **row}, small]
    table, _stats = policy.decide_columns_counted(columnar.table_of(policy.model, rows), AS_OF)
    assert table.to_pylist() == [row_path(policy, raw, AS_OF, index) for index, raw in enumerate(rows)]
    assert calls  # some operation was not proved to fit int64


def test_a_total_whose_items_fit_int64_but_whose_sum_does_not_is_summed_exactly(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = spy(monkeypatch, "_grouped_sum")
    cost = Decimal("90000000000000000.00")  # 9 * 10**18 pennies: one fits int64, three do not
    rows = [{"service": "a", "parts": [{"cost": cost, "counts": True}] * 3}, {"service": "b", "parts": [{"cost": -cost, "counts": True}] * 2}]
    table, _stats = policy.decide_columns_counted(columnar.table_of(policy.model, rows), AS_OF)
    assert table.column("works").to_pylist() == [3 * cost, -2 * cost]
    assert table.to_pylist() == [row_path(policy, raw, AS_OF, index) for index, raw in enumerate(rows)]
    assert calls


def column(values: list[Decimal | None], places: int) -> pa.Array:
    return pa.array(values, pa.decimal128(38, places))


def test_int64_roundings_send_halves_away_from_zero_and_down_and_up_to_floor_and_ceiling() -> None:
    x = columnar.fixed(column([Decimal("0.005"), Decimal("-0.005"), Decimal("2.5"), Decimal("-2.5"), Decimal("-0.004"), None], 3))
    assert x is not None

    def rounded(op: str) -> list[Any]:
        found = columnar._fixed_apply(op, [x])
        assert found is not None
        return columnar.arrow(found).to_pylist()

    assert rounded("rounded nearest penny") == [Decimal("0.01"), Decimal("-0.01"), Decimal("2.50"), Decimal("-2.50"), Decimal("0"), None]
    assert rounded("rounded nearest pound") == [0, 0, 3, -3, 0, None]
    assert rounded("rounded down pound") == [0, -1, 2, -3, -1, None]
    assert rounded("rounded up pound") == [1, 0, 3, -2, 0, None]


@pytest.mark.parametrize(("divisor", "exact"), [("4", True), ("-2.5", True), ("0.8", True), ("1E+3", True), ("3", False), ("0", False), ("7.5", False)])
def test_int64_division_by_a_constant_is_exact_when_its_quotients_end(divisor: str, exact: bool) -> None:
    values = [Decimal("12.34"), Decimal("-0.01"), None, Decimal(0), Decimal("92233720368547.75")]
    x = columnar.fixed(column(values, 2))
    found = columnar._fixed_apply("/", [x, pa.scalar(Decimal(divisor), pa.decimal128(10, 3))])
    if not exact:
        assert found is None
        return
    assert found is not None
    assert columnar.arrow(found).to_pylist() == [None if v is None else v / Decimal(divisor) for v in values]


AMOUNT = st.none() | st.builds(lambda c, p: Decimal(c).scaleb(-p), st.integers(-(10**21), 10**21) | st.integers(-(10**7), 10**7), st.integers(0, 6))
OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "greater": amounts.greater,
    "smaller": amounts.smaller,
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(OPS)), st.lists(st.tuples(AMOUNT, AMOUNT), min_size=1, max_size=8), st.booleans())
def test_int64_arithmetic_is_the_row_path_decimal_or_declined(op: str, pairs: list[tuple[Decimal | None, Decimal | None]], constant: bool) -> None:
    """Against ``Decimal`` in the row path's context: a result in fixed point is the exact one; a batch it cannot prove safe gives ``None``."""
    a = [x for x, _y in pairs]
    b = [pairs[0][1]] * len(pairs) if constant else [y for _x, y in pairs]
    left = columnar._tight(column(a, 6))
    right = pa.scalar(b[0], pa.decimal128(38, 6)) if constant else columnar._tight(column(b, 6))
    found = columnar._fixed_apply(op, [left, right])
    if found is None:
        pennies = all(v is None or (abs(v) < 10**6 and v == v.quantize(Decimal("0.01"))) for v in a + b)
        assert not pennies or (constant and b[0] is None)  # amounts in pennies are never declined; an unknown constant is the Python route's
        return
    expected = [None if x is None or y is None else OPS[op](x, y) for x, y in zip(a, b, strict=True)]
    got = columnar.arrow(found)
    assert (got.to_pylist() if isinstance(got, pa.Array) else [got.as_py()] * len(a)) == expected
    if isinstance(got, pa.Array):
        assert got.type.precision <= columnar.DECIMAL_DIGITS


@settings(max_examples=200, deadline=None)
@given(st.lists(AMOUNT, min_size=1, max_size=8), st.sampled_from(sorted(columnar.ROUNDINGS)))
def test_int64_roundings_are_the_row_path_rounding_or_declined(values: list[Decimal | None], op: str) -> None:
    found = columnar._fixed_apply(op, [columnar._tight(column(values, 6))])
    words = op.split()
    unit = amounts.UNITS[" ".join(words[2:])]
    if found is None:
        assert any(v is not None and abs(v) >= 10**6 for v in values)  # at six places int64 holds amounts up to about 9 * 10**12
        return
    assert columnar.arrow(found).to_pylist() == [None if v is None else amounts.rounded(v, unit, amounts.DIRECTIONS[words[1]]) for v in values]
