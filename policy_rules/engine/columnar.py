"""The columnar mode of the code generator: a batch of services decided as Apache Arrow columns.

Place in the pipeline: lowering (``engine.lowering``) -> this generator -> one
Python function over whole columns; ``decide_columns`` (through
``Decider.decide_columns``, which the facade's ``Policy.decide_columns`` routes
to) calls it and merges back, in place, the rows it sends to the row path
(``Decider.evaluate``). ``policy`` below is the engine's ``Decider``; the
output's shape needs only its ``result_kinds``, which the facade also gives.

The function is straight-line code: each node of the lowered form becomes one
column, worked out for every row at once by ``pyarrow.compute`` kernels
(Kleene ``and``/``or``, comparisons, membership) or numpy reductions (the
quantifiers over list columns, ``at least N of``). Unknown cells are nulls.

Exactness is kept by sending rows, never by approximating them. A row goes to
the row path when a decision it reports is left null (its facts leave it open:
the row path then works out the needed facts), when default logic meets a
conflict or an unknown exception (the row path raises or searches exactly as it
does today), when a strict operator raises in the row path's own helpers (a
division by zero, a date outside the calendar), or when a cell breaks a
declaration (an amount below its least, a value not among a fact's values).
A policy with a form this mode does not cover (``Unsupported``) sends every row.

Money and number arithmetic (``+``, ``-``, ``*``, negation, division by a
constant whose quotients end), the greater/smaller of amounts, the roundings,
scales and ``total of`` are worked out first in int64 fixed point (``Fixed``):
a decimal128 column's values read from its buffer as multiples of
``10 ** -places``, with bounds on every value carried from operation to
operation, so that an operation runs only when its result is proved to fit
int64. Such a value has at most 19 significant digits, within the 28 of the row
path's ``Decimal`` context, so the row path's arithmetic on it is exact too and
both agree. Results are written back as decimal128 columns (the tables in and
out keep their types). When a batch's bounds do not fit, the operation is an
Arrow decimal kernel on operands narrowed to the digits their values use
(``_tight``), when the result type holds at most 28 digits; wider results,
other division (rounded by that context) and the operators without a
vectorised template (dates, periods) are applied with the two-valued mode's own
Python templates (``codegen.APPLY``) to each distinct combination of operand
values: the calendar arithmetic of ``values.dates`` and the ``Decimal``
arithmetic of the row path, exactly, at the cost of one Python call per
distinct value rather than per row.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policy_rules.engine import amounts
from policy_rules.engine import lowering as ir
from policy_rules.engine.codegen import ARITHMETIC, CannotDecide, applied
from policy_rules.engine.facts import MISSING_WORDS
from policy_rules.engine.lowering import Lowered
from policy_rules.engine.policy_function import _namespace
from policy_rules.values.types import Scale

#: Comparisons with a pyarrow kernel; the Kleene result (null when an operand is) is the three-valued mode's.
COMPARE = {"=": "equal", "<>": "not_equal", "<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
#: The same comparisons on numpy integers (fixed-point values at the same places).
NUMPY_COMPARE = {name: getattr(np, name) for name in COMPARE.values()}
NUMERIC = frozenset({"money", "number", "whole number", "percentage"})
#: Why a row went to the row path, as the stats name it.
OPEN, ERROR, CELL, FORM = "open", "conflict or evaluation error", "cell outside its declaration", "form not covered"


class Unsupported(Exception):
    """A form of the policy that the columnar mode does not cover: every row takes the row path."""


class Runtime:
    """The helpers generated code calls, for one batch: ``n`` rows, and the rows sent to the row path (``send``) with why."""

    def __init__(self, n: int, namespace: dict[str, Any]) -> None:
        self.n = n
        self.send = np.zeros(n, dtype=np.int8)  # 0 kept, else an index into WHY
        self.namespace = namespace
        self.lists: dict[str, tuple[pa.Array, np.ndarray]] = {}
        #: Each flattened list's item offsets by row (from 0), by the ``id`` of its parent rows, when no row of it is null: the ends a
        #: ``total of`` sums between.
        self.offsets: dict[int, np.ndarray] = {}
        #: The rule deciding each row's outcome, as ``(LABELS, codes)`` left to decode until a caller asks for it (``decide_columns`` does
        #: not: it drops the column); None without an outcome.
        self.decided_by: Any = None

    # --- rows sent ---

    def flag(self, mask: Any, parent: np.ndarray | None, why: int) -> None:
        """Send the rows where ``mask`` holds (item-level masks are mapped to their rows through ``parent``)."""
        if isinstance(mask, pa.Scalar):
            if mask.as_py():
                self.send[self.send == 0] = why
            return
        true, known = _truth(mask, len(mask))
        m = true | ~known
        rows = parent[m] if parent is not None else np.nonzero(m)[0]
        fresh = rows[self.send[rows] == 0]
        self.send[fresh] = why

    def open_(self, value: Any, parent: np.ndarray | None) -> None:
        """A reported or default-logic value left null: its rows need the row path."""
        if isinstance(value, pa.Scalar):
            if not value.is_valid:
                self.send[self.send == 0] = 1
            return
        if isinstance(value, Fixed):
            if value.valid is not None and not value.valid.all():
                unknown = ~value.valid
                rows = parent[unknown] if parent is not None else np.nonzero(unknown)[0]
                self.send[rows[self.send[rows] == 0]] = 1
            return
        if value.null_count:
            self.flag(pc.is_null(value), parent, 1)

    # --- lists ---

    def items(self, name: str, column: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """The items of a list column, flattened, and the row of each."""
        found = self.lists.get(name)
        if found is None:
            found = self.lists[name] = (pc.list_flatten(column), np.asarray(pc.list_parent_indices(column).to_numpy(), dtype=np.int64))
            if not column.null_count:
                offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
                self.offsets[id(found[1])] = offsets - offsets[0]
        return found

    def field(self, flat: pa.Array, name: str, default: pa.Scalar | None) -> pa.Array:
        """A field of every item; a field not given is null, or its declared default."""
        if flat.type.get_field_index(name) < 0:
            values = pa.nulls(len(flat), default.type if default is not None else pa.null())
        else:
            values = pc.struct_field(flat, name)
        if default is None or not values.null_count:
            return values
        if pa.types.is_boolean(values.type) and default.type == pa.bool_():
            true, known = _truth(values, len(values))
            return _kleene(true | (~known & default.as_py()), None)
        return pc.fill_null(values, default)

    def given(self, flat: pa.Array, name: str) -> pa.Array:
        """Whether each item's field was given."""
        if flat.type.get_field_index(name) < 0:
            return pa.repeat(pa.scalar(False), len(flat))
        return pc.is_valid(pc.struct_field(flat, name))

    def take(self, value: Any, parent: np.ndarray) -> Any:
        """A row-level value, repeated for each item of its row (a constant, a parameter or a scale is the same for every item)."""
        if isinstance(value, np.ndarray):
            return value[parent]
        if isinstance(value, Fixed):
            return (
                value
                if value.constant
                else Fixed(value.values[parent], value.places, None if value.valid is None else value.valid[parent], value.low, value.high)
            )
        return value.take(pa.array(parent)) if isinstance(value, pa.Array) else value

    def arrow(self, value: Any) -> Any:
        """A value the generated code may hold in fixed point (``Fixed``), as the Arrow column it stands for, for a form that reads Arrow."""
        return value.arrow() if isinstance(value, Fixed) else value

    def reduce(self, quantifier: str, condition: Any, parent: np.ndarray, m: int) -> pa.Array:
        """``any``/``every``/``no``/``count`` over each row's items, in Kleene's logic: an unknown item leaves it open unless another settles it."""
        if isinstance(condition, pa.Scalar):
            condition = pa.repeat(condition, m) if condition.is_valid else pa.nulls(m, pa.bool_())
        true, valid = _truth(condition, m)
        n = self.n
        un = None if valid.all() else _rows_with(parent, ~valid, n)
        if quantifier == "count":
            return pa.array(np.bincount(parent[true], minlength=n), mask=un).cast(pa.decimal128(20, 0))
        if quantifier == "every":
            fa = _rows_with(parent, valid & ~true, n)
            return _kleene(~fa, None if un is None else ~fa & un)
        tr = _rows_with(parent, true, n)
        if quantifier == "any":
            return _kleene(tr, None if un is None else ~tr & un)
        return _kleene(~tr, None if un is None else ~tr & un)

    def total(self, value: Any, condition: Any, parent: np.ndarray, m: int) -> pa.Array:
        """``total of``: the sum over the items whose condition holds; null when an item's condition, or a counted value, is."""
        found = _fixed_total(value, condition, parent, self.n, self.offsets.get(id(parent)))
        if found is not None:
            return found
        value = self.arrow(value)
        summed = _grouped_sum(value, condition, parent, self.n)
        if summed is not None:
            return summed
        values = value.to_pylist() if not isinstance(value, pa.Scalar) else [value.as_py()] * m
        holds = [True] * m if condition is None else (condition.to_pylist() if not isinstance(condition, pa.Scalar) else [condition.as_py()] * m)
        sums: list[Any] = [Decimal(0)] * self.n
        for i, row in enumerate(parent.tolist()):
            if holds[i] is False or sums[row] is None:
                continue
            sums[row] = None if holds[i] is None or values[i] is None else sums[row] + values[i]
        return _decimals(sums)

    # --- logic ---

    def count_of(self, quantifier: str, parts: list[Any], at_least: int, m: int) -> Any:
        """``any``/``all``/``none``/``at least N of``: Kleene's value from how many conditions are true and false."""
        if not parts:
            return pa.scalar({"any": False, "all": True, "none": True}.get(quantifier, at_least <= 0))
        total = len(parts)
        counter = np.int8 if total < 127 else np.int64
        tr = np.zeros(m, dtype=counter)
        fa = np.zeros(m, dtype=counter)
        for p in parts:
            true, known = _truth(p, m)
            tr += true
            fa += known & ~true
        open_ = tr + fa < total
        if quantifier == "any":
            return _kleene(tr > 0, (tr == 0) & open_)
        if quantifier == "all":
            return _kleene(fa == 0, (fa == 0) & open_)
        if quantifier == "none":
            return _kleene(tr == 0, (tr == 0) & open_)
        return _kleene(tr >= at_least, (tr < at_least) & (total - fa >= at_least))

    def member(self, x: Any, options: pa.Array, negated: bool) -> Any:
        """``x is (not) one of`` constant options; unknown when ``x`` is."""
        found = pc.is_in(x, value_set=options)
        found = pc.if_else(pc.is_valid(x), found, pa.scalar(None, pa.bool_()))
        return pc.invert(found) if negated else found

    # --- coded values: a decision whose values are all named constants (an outcome, a priority, a rule's label) ---
    # is computed as numpy integer codes into the function's ``LABELS`` (0 for unknown), chosen row by row without
    # building text; it becomes text again (``decode``) where a value is reported or read by a form without codes.

    def pick(self, condition: Any, then: Any, otherwise: Any) -> Any:
        """Where ``condition`` is true, ``then``, elsewhere (false or unknown) ``otherwise``: default logic's choice, on codes."""
        if isinstance(condition, pa.Scalar):
            return then if condition.as_py() is True else otherwise
        true, _known = _truth(condition, len(condition))
        # otherwise + (then - otherwise) * true, in CODE: one pass of integer arithmetic, several times quicker than np.where on a bool mask.
        a = CODE(then) if isinstance(then, int) else then
        b = CODE(otherwise) if isinstance(otherwise, int) else otherwise
        return np.add(b, np.subtract(a, b, dtype=CODE) * true.view(np.uint8), dtype=CODE)

    def open_codes(self, value: Any, parent: np.ndarray | None) -> None:
        """A coded decision left unknown (code 0): its rows need the row path."""
        if isinstance(value, np.ndarray):
            unknown = value == 0
            if unknown.any():
                rows = parent[unknown] if parent is not None else np.nonzero(unknown)[0]
                self.send[rows[self.send[rows] == 0]] = 1
        elif value == 0:
            self.send[self.send == 0] = 1

    def clash(self, a: Any, b: Any, v: Any, w: Any, parent: np.ndarray | None) -> None:
        """Two exceptions that both apply with different known values: a conflict, which the row path reports."""
        if not isinstance(v, np.ndarray) and not isinstance(w, np.ndarray) and (v == w or 0 in (v, w)):
            return
        m = len(a) if isinstance(a, pa.Array) else len(b) if isinstance(b, pa.Array) else len(v) if isinstance(v, np.ndarray) else len(w)
        both = _truth(a, m)[0] & _truth(b, m)[0] & (np.asarray(v) != np.asarray(w)) & (np.asarray(v) != 0) & (np.asarray(w) != 0)
        if both.any():
            rows = parent[both] if parent is not None else np.nonzero(both)[0]
            self.send[rows[self.send[rows] == 0]] = 2

    def same(self, a: Any, b: Any, negated: bool, m: int) -> Any:
        """``=`` (``<>`` when ``negated``) of two coded values, in Kleene's logic: unknown when either is."""
        if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
            return pa.scalar(None, pa.bool_()) if 0 in (a, b) else pa.scalar((a == b) != negated)
        a, b = np.broadcast_to(a, m), np.broadcast_to(b, m)
        return _kleene((a == b) != negated, (a == 0) | (b == 0))

    def member_codes(self, x: Any, options: tuple[int, ...], negated: bool, m: int) -> Any:
        """``x is (not) one of`` named constants, on codes; unknown when ``x`` is."""
        if not isinstance(x, np.ndarray):
            return pa.scalar(None, pa.bool_()) if x == 0 else pa.scalar((x in options) != negated)
        among = np.full(int(x.max(initial=0)) + 1, negated)
        among[[o for o in options if o < len(among)]] = not negated
        return _kleene(among[x], x == 0)

    def decode(self, labels: pa.Array, value: Any, m: int) -> pa.Array:
        """Codes as the text they stand for (null for 0)."""
        if not isinstance(value, np.ndarray):
            return pa.repeat(labels[value], m) if value else pa.nulls(m, pa.string())
        return labels.take(pa.array(value))

    def compare(self, name: str, a: Any, b: Any) -> Any:
        """Two numbers compared, in int64 fixed point when both fit; decimals too wide to be brought to one 38-digit type are compared as
        76-digit ones."""
        fa, fb = fixed(a), fixed(b)
        pair = None if fa is None or fb is None or (fa.constant and fb.constant) else _aligned(fa, fb)
        if pair is not None:
            x, y = pair
            valid = _both(x.valid, y.valid)
            return _kleene(NUMPY_COMPARE[name](x.values, y.values), None if valid is None else ~valid)
        a, b = self.arrow(a), self.arrow(b)
        try:
            return getattr(pc, name)(a, b)
        except pa.ArrowInvalid:
            scale = max(x.type.scale if pa.types.is_decimal(x.type) else 0 for x in (a, b))
            wide = pa.decimal256(76, scale)
            return getattr(pc, name)(a.cast(wide), b.cast(wide))

    def choose(self, condition: Any, then: Any, otherwise: Any) -> Any:
        """``if C then A else B``; with ``C`` unknown the value is null (the row path decides whether both agree)."""
        return pc.if_else(condition, then, otherwise)

    def python(self, fn: Callable[..., Any], operands: list[Any], m: int, parent: np.ndarray | None, out: pa.DataType | None) -> pa.Array:
        """An operator by the row path's own Python helper, once per distinct combination of operand values; nulls stay null."""
        columns = [x.to_pylist() if isinstance(x, pa.Array) else (x.as_py() if isinstance(x, pa.Scalar) else x,) * m for x in operands]
        memo: dict[tuple[Any, ...], Any] = {}
        failed = np.zeros(m, dtype=bool)
        values: list[Any] = []
        for i, args in enumerate(zip(*columns, strict=True)):
            if None in args:
                values.append(None)
                continue
            key = tuple((type(a), a) for a in args)
            if key not in memo:
                try:
                    memo[key] = fn(*args)
                except (CannotDecide, ArithmeticError, ValueError, OverflowError):
                    memo[key] = _FAILED
            v = memo[key]
            if isinstance(v, Decimal | int) and not isinstance(v, bool) and _too_long(v):
                v = _FAILED  # beyond what one decimal column holds: the row path works it out
            if v is _FAILED:
                failed[i] = True
                v = None
            values.append(v)
        if failed.any():
            self.flag(pa.array(failed), parent, 2)
        return _typed(values, out)

    def exact(self, op: str, fn: Callable[..., Any], operands: list[Any], m: int, parent: np.ndarray | None, out: pa.DataType | None) -> Any:
        """Arithmetic, greater/smaller and rounding in int64 fixed point when its bounds are proved to fit, else by decimal kernels when they give
        the row path's ``Decimal`` values exactly; else ``python``."""
        found = _fixed_apply(op, operands)
        if found is not None:
            return arrow(found) if found.constant else found
        operands = [self.arrow(x) for x in operands]
        try:
            value = _vectorised(op, [_tight(x) for x in operands])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            value = None
        return self.python(fn, operands, m, parent, out) if value is None else value


_FAILED = object()
#: The row path's ``Decimal`` context rounds a result to 28 significant digits; a kernel result whose type holds at most 28 is exact in both.
DECIMAL_DIGITS = 28
KERNELS = {"+": "add", "-": "subtract", "*": "multiply"}
#: ``decimal`` roundings as Arrow's round modes: half up is away from zero; floor and ceiling are down and up.
ROUND_MODES = {"ROUND_HALF_UP": "half_towards_infinity", "ROUND_FLOOR": "down", "ROUND_CEILING": "up"}
ROUNDINGS = {
    f"rounded {direction} {unit}": (-Decimal(exponent).as_tuple().exponent, ROUND_MODES[rounding])
    for direction, rounding in amounts.DIRECTIONS.items()
    for unit, exponent in amounts.UNITS.items()
}
VECTORISED = frozenset({*KERNELS, "/", "neg", "greater", "smaller", "scale", *ROUNDINGS})


#: The numpy type of codes: room for every named constant and rule label of a policy (``Columnar.code`` refuses more).
CODE = np.int16


def _bits(buffer: pa.Buffer, offset: int, n: int) -> np.ndarray:
    """A bitmap of Arrow as numpy booleans (a copy, free to change)."""
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + n, bitorder="little")[offset:].view(bool)


def _truth(x: Any, m: int) -> tuple[np.ndarray, np.ndarray]:
    """A Kleene column (or constant) as two numpy masks: where it is true, and where it is known.

    Read straight from the column's bitmaps: a condition's rows are counted and
    chosen by numpy without ``fill_null`` and ``to_numpy`` passes.
    """
    if isinstance(x, pa.Scalar):
        value = x.as_py() if x.is_valid else None
        return np.full(m, value is True), np.full(m, value is not None)
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    if pa.types.is_null(x.type):
        return np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
    validity, data = x.buffers()[:2]
    true = _bits(data, x.offset, len(x))
    if not x.null_count:
        return true, np.ones(len(x), dtype=bool)
    known = _bits(validity, x.offset, len(x))
    return true & known, known


def _rows_with(parent: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """The rows (of ``n``) with at least one of the ``items`` marked: a scatter, cheaper than counting."""
    rows = np.zeros(n, dtype=bool)
    rows[parent[items]] = True
    return rows


def _kleene(value: np.ndarray, unknown: np.ndarray | None) -> pa.Array:
    """numpy booleans as a Kleene column, null where ``unknown``: its bitmaps packed directly (``pa.array`` with a mask is far slower)."""
    n = len(value)
    data = pa.py_buffer(np.packbits(value, bitorder="little"))
    nulls = 0 if unknown is None else int(np.count_nonzero(unknown))
    if not nulls:
        return pa.Array.from_buffers(pa.bool_(), n, [None, data], null_count=0)
    return pa.Array.from_buffers(pa.bool_(), n, [pa.py_buffer(np.packbits(~unknown, bitorder="little")), data], null_count=nulls)


def _grouped_sum(value: Any, condition: Any, parent: np.ndarray, n: int) -> pa.Array | None:
    """``total of`` by a grouped sum, when every row's sum fits 28 digits (so adding in ``Decimal`` would be exact too); else ``None``.

    An item whose condition is false adds 0; one whose condition is unknown, or whose counted value is, makes its row's total unknown.
    """
    if not isinstance(value, pa.Array) or not pa.types.is_decimal(value.type) or (condition is not None and not isinstance(condition, pa.Array)):
        return None
    tight = _tight(value)
    counts = np.bincount(parent, minlength=n) if len(parent) else np.zeros(n, dtype=np.int64)
    digits = len(str(int(counts.max()))) if n else 1
    if tight.type.precision + digits > DECIMAL_DIGITS:
        return None
    if condition is not None:
        tight = pc.if_else(condition, tight, pa.scalar(Decimal(0), tight.type))
    typ = pa.decimal128(tight.type.precision + digits, tight.type.scale)
    items = pa.table({"row": pa.array(parent, pa.int64()), "v": tight.cast(typ)})
    grouped = items.group_by("row").aggregate([("v", "sum", pc.ScalarAggregateOptions(skip_nulls=False, min_count=0))])
    sums = pa.repeat(pa.scalar(Decimal(0), typ), n)
    if n and len(grouped):
        at = np.zeros(n, dtype=np.int64)
        present = np.zeros(n, dtype=bool)
        rows = grouped.column("row").to_numpy()
        at[rows] = np.arange(len(rows))
        present[rows] = True
        taken = grouped.column("v_sum").combine_chunks().cast(typ).take(pa.array(at))
        sums = pc.if_else(pa.array(present), taken, sums)
    return sums


# --- int64 fixed point: the same exact values, without decimal kernels ---------------------------------------

#: The largest magnitude an int64 fixed-point column may hold (the smallest int64 has no negation, so it is left out).
INT64 = 2**63 - 1
#: Places after the point a fixed-point column may carry; more would leave few digits before it.
FIXED_PLACES = 18


class Fixed:
    """A number column as int64 multiples of ``10 ** -places``, with bounds on its values proved before each operation.

    ``values`` is an int64 array (0 in null slots) or, for a constant, a Python
    int; ``valid`` is None when no value is null. ``low``/``high`` bound every
    value (exact Python ints, by interval arithmetic from the operands'), so an
    operation whose bounds fit int64 cannot overflow. A fixed-point value
    holds at most 19 significant digits, within the row path's 28: the row
    path's ``Decimal`` arithmetic on the same values is exact, so both agree.
    """

    __slots__ = ("_arrow", "high", "low", "places", "valid", "values")

    def __init__(self, values: Any, places: int, valid: np.ndarray | None, low: int, high: int) -> None:
        self.values = values
        self.places = places
        self.valid = valid
        self.low = low
        self.high = high
        self._arrow: Any = None

    @property
    def constant(self) -> bool:
        return not isinstance(self.values, np.ndarray)

    def arrow(self) -> Any:
        """The decimal column this stands for (``arrow``), written once however many forms read it."""
        if self._arrow is None:
            self._arrow = arrow(self, remember=False)  # remembered, the column would keep its own entry of _KNOWN alive for good
        return self._arrow


def _fits(*bounds: int) -> bool:
    return all(-INT64 <= b <= INT64 for b in bounds)


def _int64_words(x: pa.Array) -> np.ndarray:
    """A decimal128 column's values as (low, high) int64 words, without a copy."""
    words = np.frombuffer(x.buffers()[1], dtype=np.int64, count=2 * (x.offset + len(x)))
    return words.reshape(-1, 2)[x.offset :]


def _valid(x: pa.Array) -> np.ndarray | None:
    return _bits(x.buffers()[0], x.offset, len(x)) if x.null_count else None


def fixed(x: Any) -> Fixed | None:
    """A decimal column or constant in fixed point, at two places when it has more and they are all zero; ``None`` when it does not fit int64."""
    if isinstance(x, Fixed):
        return x
    if isinstance(x, pa.Scalar):
        return _fixed_constant(x.as_py()) if x.is_valid and pa.types.is_decimal(x.type) else None
    if not isinstance(x, pa.Array) or not pa.types.is_decimal128(x.type):
        return None
    known = _KNOWN.get(id(x))
    if known is not None and known[0]() is x:
        return known[1]
    words = _int64_words(x)
    low, high = words[:, 0], words[:, 1]
    valid = _valid(x)
    if valid is not None:
        low = np.where(valid, low, 0)
        high = np.where(valid, high, 0)
    if not np.array_equal(high, low >> 63):
        return None
    places = x.type.scale
    if places > 2 and len(low):
        unit = 10 ** (places - 2)
        if not np.any(low % unit):
            low, places = low // unit, 2
    if places > FIXED_PLACES:
        return None
    least, most = (int(low.min()), int(low.max())) if len(low) else (0, 0)
    if not _fits(least, most):
        return None
    found = Fixed(low, places, valid, least, most)
    _remember(x, found)
    return found


def _remember(x: pa.Array, f: Fixed) -> None:
    key = id(x)
    _KNOWN[key] = (weakref.ref(x, lambda _ref: _KNOWN.pop(key, None)), f)


def _fixed_constant(number: Decimal) -> Fixed | None:
    """A ``Decimal`` at the fewest places it needs, read from its digits (no context: ``normalize`` would round past 28 digits)."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or len(digits) + exponent > 19:
        return None
    value = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        value, places = value * 10**exponent, 0
    else:
        places = -exponent
        while places and value % 10 == 0:
            value, places = value // 10, places - 1
    return Fixed(value, places, None, value, value) if places <= FIXED_PLACES and _fits(value) else None


def arrow(f: Fixed, typ: pa.DataType | None = None, remember: bool = True) -> Any:
    """A fixed-point value as the decimal128 column (or scalar) it stands for, typed as narrow as its bounds allow (or ``typ``, at its places)."""
    if typ is None:
        typ = pa.decimal128(max(len(str(max(-f.low, f.high))), f.places, 1), f.places)
    if f.constant:
        return pa.scalar(Decimal(f.values).scaleb(-f.places), typ)
    values = f.values
    words = np.zeros((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    if f.low < 0:
        words[:, 1] = values >> 63
    validity = None if f.valid is None else pa.array(f.valid).buffers()[1]
    nulls = 0 if f.valid is None else int(len(values) - np.count_nonzero(f.valid))
    out = pa.Array.from_buffers(typ, len(values), [validity, pa.py_buffer(words)], null_count=nulls)
    if remember and typ.scale == f.places:
        _remember(out, f)
    return out


#: The fixed-point value of each decimal column ``arrow`` wrote or ``fixed`` read, while that column lives: the next operation on it reads
#: no buffer again (a fact's column is checked against its least and then computed with).
_KNOWN: dict[int, tuple[weakref.ref[pa.Array], Fixed]] = {}


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return a if b is None else b if a is None else a & b


def _at(f: Fixed, places: int) -> Fixed | None:
    """``f`` at more places (its values times a power of ten), when they still fit."""
    if places == f.places:
        return f
    unit = 10 ** (places - f.places)
    if not _fits(f.low * unit, f.high * unit):
        return None
    return Fixed(f.values * unit, places, f.valid, f.low * unit, f.high * unit)


def _aligned(a: Fixed, b: Fixed) -> tuple[Fixed, Fixed] | None:
    places = max(a.places, b.places)
    x, y = _at(a, places), _at(b, places)
    return None if x is None or y is None else (x, y)


def _fixed_add(a: Fixed, b: Fixed, sign: int) -> Fixed | None:
    pair = _aligned(a, b)
    if pair is None:
        return None
    x, y = pair
    low, high = (x.low + y.low, x.high + y.high) if sign > 0 else (x.low - y.high, x.high - y.low)
    if not _fits(low, high):
        return None
    values = x.values + y.values if sign > 0 else x.values - y.values
    return Fixed(values, x.places, _both(x.valid, y.valid), low, high)


def _narrowed(f: Fixed) -> Fixed:
    """``f`` at the fewest places its values need (trailing zeros dropped): tried only when a product would not fit otherwise."""
    values, places = f.values, f.places
    while places and not np.any(values % 10):
        values, places = values // 10, places - 1
    unit = 10 ** (f.places - places)
    return f if places == f.places else Fixed(values, places, f.valid, f.low // unit, f.high // unit)


def _fixed_multiply(a: Fixed, b: Fixed, narrow: bool = True) -> Fixed | None:
    places = a.places + b.places
    corners = [p * q for p in (a.low, a.high) for q in (b.low, b.high)]
    if places > FIXED_PLACES or not _fits(*corners):
        return _fixed_multiply(_narrowed(a), _narrowed(b), narrow=False) if narrow else None
    return Fixed(a.values * b.values, places, _both(a.valid, b.valid), min(corners), max(corners))


def _fixed_divide(a: Fixed, b: Fixed) -> Fixed | None:
    """``a / b`` by a constant whose quotients all end (its only prime factors 2 and 5): a product by ``10 ** k / b``, exact as the row path's."""
    if not b.constant or b.values == 0:
        return None
    divisor, k = abs(b.values), 0
    while (10**k) % divisor:
        k += 1
        if k > FIXED_PLACES:
            return None
    factor = (10**k // divisor) * (1 if b.values > 0 else -1)
    product = _fixed_multiply(a, Fixed(factor, 0, None, factor, factor))
    if product is None:
        return None
    places = product.places + k - b.places
    if places > FIXED_PLACES:
        return None
    shifted = Fixed(product.values, places, product.valid, product.low, product.high)
    return _at(shifted, 0) if places < 0 else shifted


def _fixed_extreme(a: Fixed, b: Fixed, greater: bool) -> Fixed | None:
    pair = _aligned(a, b)
    if pair is None:
        return None
    x, y = pair
    pick = max if greater else min
    values = pick(x.values, y.values) if x.constant and y.constant else (np.maximum if greater else np.minimum)(x.values, y.values)
    return Fixed(values, x.places, _both(x.valid, y.valid), pick(x.low, y.low), pick(x.high, y.high))


def _rounded_int(v: Any, unit: int, mode: str, sign: int) -> Any:
    """Integer division by ``unit`` rounding as ``decimal`` does: half away from zero, floor or ceiling (an array, or a Python int).

    ``sign`` is that of every value when the bounds say so (1 or -1), else 0: a nearest rounding then needs one branch, not both.
    """
    if mode == "half_towards_infinity":
        half = unit // 2
        if sign > 0:
            return (v + half) // unit
        if sign < 0:
            return -((half - v) // unit)
        if isinstance(v, np.ndarray):
            return np.where(v < 0, -((half - v) // unit), (v + half) // unit)
        return -((half - v) // unit) if v < 0 else (v + half) // unit
    if mode == "down":
        return v // unit
    return -((-v) // unit)


def _fixed_round(a: Fixed, digits: int, mode: str) -> Fixed | None:
    if a.places <= digits:
        return a
    unit = 10 ** (a.places - digits)
    if not _fits(a.low - unit, a.high + unit):
        return None
    sign = 1 if a.low >= 0 else -1 if a.high <= 0 else 0
    values = _rounded_int(a.values, unit, mode, sign)
    return Fixed(values, digits, a.valid, _rounded_int(a.low, unit, mode, 0), _rounded_int(a.high, unit, mode, 0))


def _fixed_scale(scale: Scale, x: Fixed) -> Fixed | None:
    """``scale applied to x`` as ``engine.scales.applied`` works it out: each bracket's part (0 below its threshold) at its rate, summed, or the band's."""
    thresholds = [_fixed_constant(t) for t in scale.thresholds]
    values = [_fixed_constant(v) for v in scale.values]
    if any(t is None for t in thresholds) or any(v is None for v in values):
        return None
    if scale.kind == "banded":
        places = max(v.places for v in values)  # type: ignore[union-attr]
        levels = [_at(v, places) for v in values]  # type: ignore[arg-type]
        if any(v is None for v in levels):
            return None
        reached = np.full(len(x.values), levels[0].values, dtype=np.int64)  # type: ignore[union-attr]
        for threshold, level in zip(thresholds[1:], levels[1:], strict=True):
            pair = _aligned(x, threshold)  # type: ignore[arg-type]
            if pair is None:
                return None
            reached = np.where(pair[0].values >= pair[1].values, level.values, reached)  # type: ignore[union-attr]
        bounds = [v.values for v in levels]  # type: ignore[union-attr]
        return Fixed(reached, places, x.valid, min(bounds), max(bounds))
    places = max(x.places, *(t.places for t in thresholds))  # type: ignore[union-attr]
    at = _at(x, places)
    tops = [_at(t, places) for t in thresholds]  # type: ignore[arg-type]
    if at is None or any(t is None for t in tops):
        return None
    total: Fixed | None = None
    for i, rate in enumerate(values):
        if rate.values == 0:  # type: ignore[union-attr]
            continue
        low, high = tops[i].values, tops[i + 1].values if i + 1 < len(tops) else None  # type: ignore[union-attr]
        if high is not None and not _fits(high - low):
            return None
        part = np.maximum(at.values, low) if high is None else np.clip(at.values, low, high)
        part -= low
        least, most = (max(b, low) if high is None else min(max(b, low), high) for b in (at.low, at.high))
        gives = _fixed_multiply(Fixed(part, places, at.valid, least - low, most - low), rate)  # type: ignore[arg-type]
        if gives is None:
            return None
        total = gives if total is None else _fixed_add(total, gives, 1)
        if total is None:
            return None
    return total if total is not None else Fixed(np.zeros(len(at.values), dtype=np.int64), 0, at.valid, 0, 0)


def _fixed_apply(op: str, operands: list[Any]) -> Fixed | None:
    """``op`` in fixed point, or ``None`` when an operand is not a number in int64 or a bound does not fit (the decimal route then tries)."""
    if op == "scale":
        scale, x = operands
        f = fixed(x) if isinstance(scale, Scale) and isinstance(x, pa.Array | Fixed) else None
        return None if f is None else _fixed_scale(scale, f)
    found = [fixed(x) for x in operands]
    if any(f is None for f in found):
        return None
    if op == "neg":
        (a,) = found
        return Fixed(-a.values, a.places, a.valid, -a.high, -a.low)  # type: ignore[union-attr]
    if op in ROUNDINGS:
        digits, mode = ROUNDINGS[op]
        return _fixed_round(found[0], digits, mode)  # type: ignore[arg-type]
    if op in ("greater", "smaller"):
        best: Fixed | None = found[0]
        for f in found[1:]:
            best = None if best is None else _fixed_extreme(best, f, greater=op == "greater")  # type: ignore[arg-type]
        return best
    a, b = found
    if op in ("+", "-"):
        return _fixed_add(a, b, 1 if op == "+" else -1)  # type: ignore[arg-type]
    if op == "*":
        return _fixed_multiply(a, b)  # type: ignore[arg-type]
    if op == "/":
        return _fixed_divide(a, b)  # type: ignore[arg-type]
    return None


def _fixed_total(value: Any, condition: Any, parent: np.ndarray, n: int, offsets: np.ndarray | None = None) -> Fixed | None:
    """``total of`` in fixed point: each row's items summed (a false condition adds 0), when every row's sum is proved to fit int64.

    ``offsets``, where the list has them (no null row), give each row's first and last item; else they are counted from ``parent``.
    """
    f = fixed(value) if isinstance(value, pa.Array | Fixed) else None
    if f is None or f.constant or (condition is not None and not isinstance(condition, pa.Array)):
        return None
    if offsets is None:
        offsets = np.zeros(n + 1, dtype=np.int64)
        if len(parent):
            np.cumsum(np.bincount(parent, minlength=n), out=offsets[1:])
    counts = np.diff(offsets)
    most = int(counts.max()) if n else 0
    low, high = min(f.low, 0) * most, max(f.high, 0) * most
    if not _fits(low, high):
        return None
    values, unknown = f.values, None if f.valid is None else ~f.valid
    if condition is not None:
        holds, known = _truth(condition, len(condition))
        values = np.where(holds, values, 0)
        open_ = ~known if condition.null_count else None
        if unknown is not None:
            unknown &= holds | (open_ if open_ is not None else False)
        unknown = _either(unknown, open_)
    # Running sums may wrap around in int64; a difference of two is still each row's exact sum, which is proved to fit.
    running = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=running[1:])
    sums = running[offsets[1:]] - running[offsets[:-1]]
    valid = None
    if unknown is not None and unknown.any():
        valid = np.bincount(parent[unknown], minlength=n) == 0
    return Fixed(sums, f.places, valid, low, high)


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return a if b is None else b if a is None else a | b


def _parameter(value: Any) -> Any:
    """A parameter's value on the batch's date: a scale stays the row path's ``Scale`` (the scale template reads it), others are Arrow scalars."""
    return value if isinstance(value, Scale) else pa.scalar(value)


def _number_scalar(value: Decimal) -> pa.Scalar:
    return _tight(pa.scalar(value, pa.decimal128(38, max(-value.as_tuple().exponent, 0))))  # type: ignore[operator]


def _scale(scale: Scale, x: pa.Array) -> Any:
    """``scale applied to x`` as ``engine.scales.applied`` works it out, by kernels: each bracket's part (0 below its threshold) at its rate, summed."""
    thresholds = [_number_scalar(t) for t in scale.thresholds]
    values = [_number_scalar(v) for v in scale.values]
    if scale.kind == "banded":
        reached: Any = _tight(pc.if_else(pc.is_valid(x), values[0], pa.scalar(None, values[0].type)))
        for threshold, value in zip(thresholds[1:], values[1:], strict=True):
            common = _vectorised("greater", [value, reached])
            if common is None:
                return None
            reached = _tight(pc.if_else(pc.greater_equal(x, threshold), value.cast(common.type), reached.cast(common.type)))
        return reached
    total: Any = None
    zero = pa.scalar(Decimal(0), pa.decimal128(1, 0))
    for threshold, top, rate in zip(thresholds, (*thresholds[1:], None), values, strict=True):
        capped = x if top is None else _vectorised("smaller", [x, top])
        below = None if capped is None else _vectorised("-", [_tight(capped), threshold])
        part = None if below is None else _vectorised("greater", [_tight(below), zero])
        gives = None if part is None else _vectorised("*", [_tight(part), rate])
        if gives is None:
            return None
        total = gives if total is None else _vectorised("+", [_tight(total), _tight(gives)])
        if total is None:
            return None
    return total


def _tight(x: Any) -> Any:
    """A number column or constant as the narrowest decimal type holding its values (so kernel result types stay within 28 digits); else as it is."""
    if isinstance(x, pa.Scalar):
        if not x.is_valid or not (pa.types.is_decimal(x.type) or pa.types.is_integer(x.type)):
            return x
        x = pa.array([x.as_py()], pa.decimal128(38, x.type.scale if pa.types.is_decimal(x.type) else 0))
        return _tight(x)[0]
    if not isinstance(x, pa.Array) or not (pa.types.is_decimal(x.type) or pa.types.is_integer(x.type)):
        return x
    scale = x.type.scale if pa.types.is_decimal(x.type) else 0
    largest = pc.max(pc.abs(x)).as_py()
    whole = 1 if largest is None else max(Decimal(largest).adjusted() + 1, 1)
    if whole + scale > 38:
        raise pa.ArrowInvalid("too wide for one decimal128 column")
    if scale > 2:
        try:
            return x.cast(pa.decimal128(whole + 2, 2))  # a safe cast refuses to drop a digit: amounts in pennies take two places
        except pa.ArrowInvalid:
            pass
    return _as(x, pa.decimal128(whole + scale, scale))


def _as(x: Any, typ: pa.DataType) -> Any:
    """``x`` cast to ``typ``, without a pass over the column when it already is that type."""
    return x if x.type == typ else x.cast(typ)


def _exact_type(value: Any) -> bool:
    return pa.types.is_decimal(value.type) and value.type.precision <= DECIMAL_DIGITS and value.type.scale <= 20


def _vectorised(op: str, operands: list[Any]) -> Any:
    """The kernel result of ``op``, or ``None`` when a kernel would not give the row path's value exactly (a type too wide, not numbers)."""
    if op == "scale":
        scale, x = operands
        return _scale(scale, x) if isinstance(scale, Scale) and isinstance(x, pa.Array) and pa.types.is_decimal(x.type) else None
    for x in operands:
        if not isinstance(x, pa.Array | pa.Scalar) or not pa.types.is_decimal(x.type) or (isinstance(x, pa.Scalar) and not x.is_valid):
            return None
    if not any(isinstance(x, pa.Array) for x in operands) or op == "/":
        return None
    if op in KERNELS or op == "neg":
        value = pc.negate(operands[0]) if op == "neg" else getattr(pc, KERNELS[op])(*operands)
        return value if _exact_type(value) else None
    if op in ("greater", "smaller"):
        a, b = operands
        scale = max(a.type.scale, b.type.scale)
        whole = max(a.type.precision - a.type.scale, b.type.precision - b.type.scale)
        typ = pa.decimal128(whole + scale, scale)
        kernel = pc.max_element_wise if op == "greater" else pc.min_element_wise
        return kernel(_as(a, typ), _as(b, typ), skip_nulls=False)
    digits, mode = ROUNDINGS[op]
    (x,) = operands
    whole = x.type.precision - x.type.scale + 1
    if whole + max(x.type.scale, digits) > 38:
        return None
    widened = _as(x, pa.decimal128(whole + x.type.scale, x.type.scale))
    return pc.round(widened, ndigits=digits, round_mode=mode).cast(pa.decimal128(whole + digits, digits))


def _too_long(value: Decimal | int) -> bool:
    """More than 56 digits before the point or 20 after it (so any two fit one 76-digit column), or not finite."""
    t = Decimal(value).normalize().as_tuple()
    return not isinstance(t.exponent, int) or len(t.digits) + t.exponent > 56 or -t.exponent > 20


def _array(value: Any, m: int) -> pa.Array:
    if isinstance(value, pa.Scalar):
        return pa.repeat(value, m) if value.is_valid else pa.nulls(m, value.type)
    return value


def _decimals(values: list[Any]) -> pa.Array:
    """Python numbers as a decimal column wide enough for every one of them, exactly; ``Unsupported`` beyond 76 digits."""
    scale = whole = 0
    for v in values:
        if v is not None:
            t = Decimal(v).normalize().as_tuple()
            if not isinstance(t.exponent, int):
                raise Unsupported("a number that is not finite")
            scale = max(scale, -t.exponent)
            whole = max(whole, len(t.digits) + t.exponent)
    if whole + scale <= 38:
        typ = pa.decimal128(38, scale)
    elif whole + scale <= 76:
        typ = pa.decimal256(76, scale)
    else:
        raise Unsupported("a number longer than 76 digits")
    return pa.array([None if v is None else Decimal(v) for v in values], type=typ)


def _typed(values: list[Any], out: pa.DataType | None) -> pa.Array:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, Decimal | int) and not isinstance(sample, bool):
        return _decimals(values)
    return pa.array(values, type=out)


class Columnar:
    """The generator: writes ``decide(R, F, P)``, a function of the runtime, the fact columns and the parameters' values, from the lowered form."""

    def __init__(self, lowered: Lowered) -> None:
        self.lowered = lowered
        self.model = lowered.model
        self.lines: list[str] = []
        self.constants: list[Any] = []
        self.counter = 0
        self.locals: dict[str, str] = {}
        self.facts: list[str] = []
        self.params: list[str] = []
        #: Each rule's applies column (with its exceptions), by the rule's id: what ``decider`` chooses the deciding rule by.
        self.applies_of: dict[int, str] = {}
        self.records: dict[str, str] = {}
        self.read_facts: set[str] = set()
        #: The item fields the function reads or asks ``is known`` of, by name (of any record).
        self.read_fields: set[str] = set()
        #: The texts coded values stand for, by code (0 is unknown), and the code of each.
        self.labels: list[str | None] = [None]
        self.codes: dict[str, int] = {}
        #: Decisions computed as codes, by name, and the variables holding codes.
        self.coded_names: set[str] = set()
        self.coded_vars: set[str] = set()
        self.decoded: dict[tuple[str, str], str] = {}
        #: Variables that may hold a number in fixed point (``Fixed``): the results of ``R.exact`` and ``R.total`` and their lifts, read
        #: as such by the forms that take one (arithmetic, comparisons of numbers, ``total of``, results) and written as Arrow for others
        #: once (``arrowed``), so that a chain of arithmetic converts only what is reported or read by a kernel.
        self.fixed_vars: set[str] = set()
        self.arrowed_vars: dict[str, str] = {}

    def const(self, value: Any) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def code(self, text: str) -> int:
        found = self.codes.get(text)
        if found is None:
            if len(self.labels) > np.iinfo(CODE).max:
                raise Unsupported("more named values and rules than codes")
            found = self.codes[text] = len(self.labels)
            self.labels.append(text)
        return found

    def fresh(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def put(self, code: str) -> str:
        v = self.fresh()
        self.lines.append(f"    {v} = {code}")
        return v

    # --- scopes: None is the rows; otherwise (item name, flat items, parent rows, count, collection) ---

    def lift(self, v: str, scope: tuple[str, str, str, str] | None) -> str:
        """A row-level column seen from an item scope."""
        if scope is None:
            return v
        lifted = self.put(f"R.take({v}, {scope[2]})")
        if v in self.fixed_vars:
            self.fixed_vars.add(lifted)
        return lifted

    def arrowed(self, v: str) -> str:
        """A variable as Arrow for a form that does not read ``Fixed``: converted once, where first needed."""
        if v not in self.fixed_vars:
            return v
        found = self.arrowed_vars.get(v)
        if found is None:
            found = self.arrowed_vars[v] = self.put(f"R.arrow({v})")
        return found

    def size(self, scope: Any) -> str:
        return "R.n" if scope is None else scope[3]

    def parent(self, scope: Any) -> str:
        return "None" if scope is None else scope[2]

    def bind(self, item: str, collection: ir.Slot, scope: Any) -> tuple[str, str, str, str]:
        if scope is not None or collection.kind != "fact":
            raise Unsupported("a list read inside a list")
        column = self.read(collection, None)
        self.records[item] = self.model.fact_types[collection.name].record
        flat, parent, m = self.fresh(), self.fresh(), self.fresh()
        self.lines.append(f"    {flat}, {parent} = R.items({self.const(collection.name)}, {column})")
        self.lines.append(f"    {m} = len({flat})")
        return (item, flat, parent, m)

    def field_decl(self, scope: Any, name: str) -> Any:
        record = self.model.records[self.records[scope[0]]]
        return next(f for f in record.fields if f.name == name)

    # --- expressions ---

    def expr(self, e: ir.Expr, scope: Any, fixed_ok: bool = False) -> str:
        """The variable holding ``e``'s column; a number in fixed point only when ``fixed_ok`` (the reader takes ``Fixed``)."""
        v = self.form(e, scope)
        return v if fixed_ok else self.arrowed(v)

    def form(self, e: ir.Expr, scope: Any) -> str:
        if isinstance(e, ir.Const):
            value = self.lowered.constants[e.index]
            if isinstance(value, tuple):
                raise Unsupported("a list constant")
            try:
                return self.const(pa.scalar(value))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return self.const(value)  # a period: only the row path's date helpers read it
        if isinstance(e, ir.Read):
            return self.read(e.slot, scope)
        if isinstance(e, ir.Apply):
            return self.apply(e, scope)
        if isinstance(e, ir.Logic):
            parts = [self.expr(x, scope) for x in e.operands]
            v = parts[0]
            for p in parts[1:]:
                v = self.put(f"pc.{e.op}_kleene({v}, {p})")
            return v
        if isinstance(e, ir.Known):
            return self.known(e, scope)
        if isinstance(e, ir.Quantify):
            inner = self.bind(e.item, e.collection, scope)
            condition = self.expr(e.condition, inner)
            return self.put(f"R.reduce({self.const(e.quantifier)}, {condition}, {inner[2]}, {inner[3]})")
        if isinstance(e, ir.CountOf):
            parts = [self.expr(c, scope) for c in e.conditions]
            return self.put(f"R.count_of({self.const(e.quantifier)}, [{', '.join(parts)}], {e.at_least}, {self.size(scope)})")
        if isinstance(e, ir.Choose):
            c, a, b = (self.expr(x, scope) for x in (e.condition, e.then, e.otherwise))
            return self.put(f"R.choose({c}, {a}, {b})")
        if isinstance(e, ir.Total):
            inner = self.bind(e.item, e.collection, scope)
            condition = self.expr(e.condition, inner) if e.condition is not None else "None"
            value = self.expr(e.value, inner, fixed_ok=True)
            total = self.put(f"R.total({value}, {condition}, {inner[2]}, {inner[3]})")
            self.fixed_vars.add(total)
            return total
        raise Unsupported(f"the form {type(e).__name__}")

    def apply(self, e: ir.Apply, scope: Any) -> str:
        if e.op in ("=", "<>", "in", "not in") and all(self.coded_form(x) for x in e.operands) and not all(isinstance(x, ir.Const) for x in e.operands):
            x, *options = (self.coded(o, scope) for o in e.operands)
            if e.op in ("=", "<>") and not isinstance(e.operands[1], ir.Const):
                return self.put(f"R.same({x}, {options[0]}, {e.op == '<>'}, {self.size(scope)})")
            if all(isinstance(o, ir.Const) for o in e.operands[1:]):
                return self.put(f"R.member_codes({x}, ({''.join(o + ', ' for o in options)}), {e.op in ('<>', 'not in')}, {self.size(scope)})")
        if e.op in ("in", "not in") and all(isinstance(x, ir.Const) for x in e.operands[1:]):
            options = [self.lowered.constants[x.index] for x in e.operands[1:]]  # type: ignore[union-attr]
            return self.put(f"R.member({self.expr(e.operands[0], scope)}, {self.const(pa.array(options))}, {e.op == 'not in'})")
        if e.op in ("in", "not in"):
            x = self.expr(e.operands[0], scope)
            v = None
            for option in e.operands[1:]:
                eq = self.put(f"pc.equal({x}, {self.expr(option, scope)})")
                v = eq if v is None else self.put(f"pc.or_kleene({v}, {eq})")
            return self.put(f"pc.invert({v})") if e.op == "not in" else v  # type: ignore[return-value]
        numbers = self.comparable(e) and (e.op == "between" or (e.op in COMPARE and self.kind(e.operands[0]) == "number"))
        operands = [self.expr(x, scope, fixed_ok=e.op in VECTORISED or numbers) for x in e.operands]
        if e.op in COMPARE and self.comparable(e):
            if self.kind(e.operands[0]) == "number":
                return self.put(f"R.compare({self.const(COMPARE[e.op])}, {operands[0]}, {operands[1]})")
            return self.put(f"pc.{COMPARE[e.op]}({operands[0]}, {operands[1]})")
        if e.op == "not":
            return self.put(f"pc.invert({operands[0]})")
        if e.op in ("empty", "not empty"):
            return self.put(f"pc.{'equal' if e.op == 'empty' else 'not_equal'}(pc.list_value_length({operands[0]}), 0)")
        if e.op == "between" and self.comparable(e):
            low = self.put(f"R.compare('less_equal', {operands[1]}, {operands[0]})")
            high = self.put(f"R.compare('less_equal', {operands[0]}, {operands[2]})")
            return self.put(f"pc.and_kleene({low}, {high})")
        names = [f"x{i}" for i in range(len(operands))]
        written = [f"D({x})" if e.op in ARITHMETIC and i == 0 else x for i, x in enumerate(names)]
        template = applied(e.op, written)
        fn = self.const(eval(f"lambda {', '.join(names)}: {template}", self.namespace()))
        out = self.const(pa.bool_() if e.op in ("within",) else None)
        if e.op in VECTORISED:
            v = self.put(f"R.exact({self.const(e.op)}, {fn}, [{', '.join(operands)}], {self.size(scope)}, {self.parent(scope)}, {out})")
            self.fixed_vars.add(v)
            return v
        return self.put(f"R.python({fn}, [{', '.join(operands)}], {self.size(scope)}, {self.parent(scope)}, {out})")

    def comparable(self, e: ir.Apply) -> bool:
        """Whether the operands' values compare in Arrow as in Python: numbers with numbers, texts, dates, yes/no."""
        kinds = {self.kind(x) for x in e.operands}
        return (len(kinds) == 1 and None not in kinds) or kinds <= {"number"}

    def kind(self, e: ir.Expr) -> str | None:
        if e.source is None:
            return None
        t = self.model.type_of(e.source)
        kind = getattr(t, "kind", None)
        if kind in NUMERIC:
            return "number"
        if kind in ("text", "one of", "outcome"):
            return "text"
        return kind if kind in ("date", "yes/no") else None

    def namespace(self) -> dict[str, Any]:
        if not hasattr(self, "_namespace"):
            self._namespace = _namespace(self.lowered.constants, {})
        return self._namespace

    def known(self, e: ir.Known, scope: Any) -> str:
        if e.slot.kind == "field":
            item = scope
            if item is None or item[0] != e.slot.item:
                raise Unsupported("a field of an item outside its quantifier")
            self.read_fields.add(e.slot.name)
            if self.field_decl(item, e.slot.name).default is not None:
                return self.const(pa.scalar(not e.negated))
            given = self.put(f"R.given({item[1]}, {self.const(e.slot.name)})")
            return self.put(f"pc.invert({given})") if e.negated else given
        if self.model.facts[e.slot.name].default is not None:
            return self.const(pa.scalar(not e.negated))
        v = self.lift(f"G[{self.const(e.slot.name)}]", scope)
        return self.put(f"pc.{'is_null' if e.negated else 'is_valid'}({v})")

    def read(self, slot: ir.Slot, scope: Any) -> str:
        kind = slot.kind
        if kind == "fact":
            self.read_facts.add(slot.name)
            return self.lift(f"F[{self.const(slot.name)}]", scope)
        if kind == "field":
            if scope is None or scope[0] != slot.item:
                raise Unsupported("a field of an item outside its quantifier")
            self.read_fields.add(slot.name)
            default = self.field_decl(scope, slot.name).default
            written = self.const(None if default is None else pa.scalar(default.value))
            return self.put(f"R.field({scope[1]}, {self.const(slot.name)}, {written})")
        if kind == "parameter":
            if slot.name not in self.params:
                self.params.append(slot.name)
            return self.lift(f"P[{self.const(slot.name)}]", scope)
        if kind == "today":
            return "AS_OF"
        if kind == "item":
            raise Unsupported("a list item itself")
        if kind == "item decision":
            raise Unsupported("a value decided for each item of a list")
        found = self.locals.get(slot.name)
        if found is None:
            raise Unsupported("a value read before it is worked out")
        if found in self.coded_vars:
            return self.plain(found, scope)
        return self.lift(found, scope)

    # --- coded values (``Runtime.pick``) ---

    def plain(self, var: str, scope: Any) -> str:
        """A coded variable as text, for a form that reads text: decoded once for each scope it is read in."""
        key = (var, self.parent(scope))
        if key not in self.decoded:
            self.decoded[key] = self.put(f"R.decode(LABELS, {self.lift(var, scope)}, {self.size(scope)})")
        return self.decoded[key]

    def codable(self, decision: ir.Decision) -> bool:
        """Whether every value the decision's rules can give is a named constant or another coded decision."""

        def each(rule: ir.Rule) -> bool:
            return self.coded_form(rule.conclusion) and all(each(x) for x in rule.exceptions)

        return each(decision.root)

    def coded_form(self, e: ir.Expr) -> bool:
        if isinstance(e, ir.Const):
            return isinstance(self.lowered.constants[e.index], str)
        return isinstance(e, ir.Read) and e.slot.kind in ("decision", "define") and e.slot.name in self.coded_names

    def coded(self, e: ir.Expr, scope: Any) -> str:
        """A coded form's codes: an integer for a constant, else the decision's codes seen from ``scope``."""
        if isinstance(e, ir.Const):
            return str(self.code(self.lowered.constants[e.index]))
        assert isinstance(e, ir.Read)
        return self.lift(self.locals[e.slot.name], scope)

    # --- default logic ---

    def rule(self, rule: ir.Rule, scope: Any, coded: bool = False) -> tuple[str, str]:
        """A rule's (applies, value) columns: applies is Kleene (null when unknown); exceptions override, and rows where they conflict or may apply are sent.

        ``coded``: the values are codes (``Runtime.pick`` chooses among them); else Arrow columns.
        """
        applies = self.expr(rule.condition.whole, scope) if rule.condition is not None else "K_TRUE"
        # A conclusion taken as it is (no condition, no exception to choose against) may stay in fixed point.
        value = self.coded(rule.conclusion, scope) if coded else self.expr(rule.conclusion, scope, fixed_ok=rule.condition is None and not rule.exceptions)
        self.applies_of[id(rule)] = applies
        if not rule.exceptions:
            return applies, value
        results = [self.rule(x, scope, coded) for x in rule.exceptions]
        if not coded:
            results = [(a, self.arrowed(v)) for a, v in results]
        parent = self.parent(scope)
        for a, _v in results:
            # An exception that may apply: the row path works out whether it does (and what then follows).
            self.lines.append(f"    R.open_({a}, {parent})")
        taken = "K_FALSE"
        for a, v in reversed(results):
            taken = a if taken == "K_FALSE" else self.put(f"pc.or_kleene({a}, {taken})")  # unknown or false is unknown: ``a`` itself
            value = self.put(f"R.pick({a}, {v}, {value})" if coded else f"pc.if_else(pc.fill_null({a}, False), {v}, {value})")
        if len(results) > 1:
            for i, (a, v) in enumerate(results):
                for b, w in results[i + 1 :]:
                    if coded:
                        self.lines.append(f"    R.clash({a}, {b}, {v}, {w}, {parent})")
                        continue
                    clash = self.put(f"pc.and_kleene(pc.and_kleene({a}, {b}), pc.not_equal({v}, {w}))")
                    self.lines.append(f"    R.flag(pc.fill_null({clash}, False), {parent}, 2)")
        applies = "K_TRUE" if applies == "K_TRUE" else self.put(f"pc.or_kleene({taken}, {applies})")
        self.applies_of[id(rule)] = applies
        return applies, value

    def decider(self, rule: ir.Rule) -> str:
        """The column of the rule that decides each row (the deepest exception that applies, else the rule): the row path's ``decided_by``."""
        decider = str(self.code(rule.label))
        for x in reversed(rule.exceptions):
            decider = self.put(f"R.pick({self.applies_of[id(x)]}, {self.decider(x)}, {decider})")
        return decider

    def decision(self, decision: ir.Decision, scope: Any) -> str:
        """The decision's column (its codes when ``codable``): the value of the rule deciding each row, unknown where none applies."""
        coded = self.codable(decision)
        applies, value = self.rule(decision.root, scope, coded)
        if coded:
            out = value if applies == "K_TRUE" and value.isidentifier() else self.put(value if applies == "K_TRUE" else f"R.pick({applies}, {value}, 0)")
            self.lines.append(f"    R.open_codes({out}, {self.parent(scope)})")
            self.coded_vars.add(out)
            if scope is None:
                self.coded_names.add(decision.name)
            return out
        out = value if applies == "K_TRUE" else self.put(f"pc.if_else(pc.fill_null({applies}, False), {value}, K_NULL)")
        self.lines.append(f"    R.open_({out}, {self.parent(scope)})")
        return out

    def reported(self, var: str, scope: Any) -> str:
        """An output column (of the rows, or of ``scope``'s items) as text where it is coded."""
        return self.put(f"R.decode(LABELS, {var}, {self.size(scope)})") if var in self.coded_vars else var

    def generate(self) -> str:
        lowered = self.lowered
        results: dict[str, str] = {}
        elements = "None"
        for name in lowered.order:
            if name in lowered.defines:
                body = lowered.defines[name].body
                if isinstance(body, ir.Reasons):
                    parts = [self.expr(x, None) for _i, x in body.members]
                    names = self.const([lowered.constants[i] for i, _x in body.members])
                    v = self.put(f"({names}, [{', '.join(parts)}])")
                else:
                    v = self.expr(body, None, fixed_ok=True)
                self.locals[name] = v
                continue
            decision = lowered.decisions[name]
            if decision.per_item is None:
                self.locals[name] = self.decision(decision, None)
                if name == lowered.outcome:
                    self.lines.append(f"    R.decided_by = (LABELS, {self.decider(decision.root)})")
            elif name == lowered.element_outcomes:
                item, collection = decision.per_item
                inner = self.bind(item, collection, None)
                elements = f"({self.reported(self.arrowed(self.decision(decision, inner)), inner)}, {self.const(collection.name)})"
            else:
                raise Unsupported("a decision for each item that another value reads")
        for name in self.model.results:
            results[name] = self.reported(self.locals[name], None)
        outcome = self.reported(self.arrowed(self.locals.get(lowered.outcome or "", "None")), None)
        priority = self.reported(self.arrowed(self.locals.get(lowered.priority or "", "None")), None)
        reasons = self.locals.get(lowered.reasons or "", "None")
        listed = ", ".join(f"{self.const(k)}: {v}" for k, v in results.items())
        head = ["def decide(R, F, G, P, AS_OF):"]
        return "\n".join([*head, *self.lines, f"    return {outcome}, {priority}, {reasons}, {elements}, {{{listed}}}"])


class ColumnarFunction:
    """The generated columnar function of one policy, or why there is none (``unsupported``)."""

    def __init__(self, lowered: Lowered, parameters: Mapping[str, Any]) -> None:
        self.lowered = lowered
        self.parameters = parameters
        self.unsupported: str | None = None
        self.source = ""
        self.read_facts: frozenset[str] = frozenset()
        self.read_fields: frozenset[str] = frozenset()
        gen = Columnar(lowered)
        try:
            self.source = gen.generate()
        except Unsupported as why:
            self.unsupported = str(why)
            return
        self.params = tuple(gen.params)
        #: The facts the function reads: only their text cells can be read differently by the row path (``n/a`` as missing).
        self.read_facts = frozenset(gen.read_facts)
        #: The item fields whose text cells can be read differently by the row path: those the function reads, and ``name``, which names
        #: each element in the output when the policy has element outcomes.
        self.read_fields = frozenset({*gen.read_fields, *(("name",) if lowered.element_outcomes is not None else ())})
        namespace = {"pc": pc, "pa": pa, "K": gen.constants, "K_TRUE": pa.scalar(True), "K_FALSE": pa.scalar(False), "K_NULL": pa.scalar(None)}
        namespace["LABELS"] = pa.array(gen.labels, pa.string())
        code = compile(self.source, "<columnar policy>", "exec")
        exec(code, namespace)
        self._decide = namespace["decide"]
        self._param = _namespace(lowered.constants, parameters)["param"]

    def __call__(self, facts: Mapping[str, pa.Array], given: Mapping[str, pa.Array], n: int, as_of: date, runtime: Runtime) -> Any:
        try:
            params = {name: _parameter(self._param(name, as_of)) for name in self.params}
        except CannotDecide:
            runtime.send[:] = 2
            return None
        return self._decide(runtime, facts, given, params, pa.scalar(as_of))


# --- a batch: columns in, the row path's rows merged back, columns out ---------------------------------------

WHY = (None, OPEN, ERROR, CELL, FORM)


def _fact_type(kind: str) -> pa.DataType:
    return {"yes/no": pa.bool_(), "date": pa.date32(), "text": pa.string(), "one of": pa.string()}.get(kind, pa.decimal128(20, 0))


def _column(table: pa.Table, name: str, n: int, kind: str) -> pa.Array:
    """A declared fact's column in the type this mode computes with; ``Unsupported`` when its Arrow type is not one it reads exactly."""
    if name not in table.column_names:
        return pa.nulls(n, _fact_type(kind)) if kind != "list" else pa.nulls(n, pa.list_(pa.struct([])))
    column = table.column(name).combine_chunks()
    t = column.type
    if pa.types.is_null(t):
        return pa.nulls(n, _fact_type(kind)) if kind != "list" else pa.nulls(n, pa.list_(pa.struct([])))
    if kind == "yes/no" and pa.types.is_boolean(t):
        return column
    if kind in NUMERIC and pa.types.is_integer(t):
        return column.cast(pa.decimal128(20, 0))
    if kind in NUMERIC and pa.types.is_decimal(t):
        return column
    if kind == "date" and pa.types.is_date32(t):
        return column
    if kind in ("text", "one of") and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return column.cast(pa.string())
    if kind == "list" and (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_struct(t.value_type):
        return column.cast(pa.list_(t.value_type)) if pa.types.is_large_list(t) else column
    raise Unsupported(f"column `{name}` is {t}, which the columnar mode does not read as {kind}")


class Batch:
    """One call of the columnar function over a table, with the rows it leaves to the row path and why."""

    def __init__(self, policy: Any, table: pa.Table, as_of: date) -> None:
        self.policy = policy
        self.model = policy.model
        self.table = table
        self.n = n = table.num_rows
        self.as_of = as_of
        self.runtime = Runtime(n, {})
        #: Each list fact's column with its nulls read as empty lists, as ``columns`` made it (the elements reuse it).
        self.empty_lists: dict[str, pa.Array] = {}
        function: ColumnarFunction = policy.columnar
        self.outputs: Any = None
        try:
            if function.unsupported is not None:
                raise Unsupported(function.unsupported)
            given, facts = self.columns(function.read_facts, function.read_fields)
            self.outputs = function(facts, given, n, as_of, self.runtime)
        except (Unsupported, pa.ArrowInvalid) as why:
            # ArrowInvalid: a value beyond what Arrow's kernels take (a decimal wider than 76 digits); the row path has no such limit.
            self.runtime.send[:] = 4
            self.unsupported: str | None = str(why)
        else:
            self.unsupported = None

    def columns(self, read: frozenset[str], fields: frozenset[str]) -> tuple[dict[str, pa.Array], dict[str, pa.Array]]:
        """Each declared fact's column as given (for ``is known``) and with its default in place of a null; cells outside their declaration are sent."""
        model, n = self.model, self.n
        given: dict[str, pa.Array] = {}
        facts: dict[str, pa.Array] = {}
        for name, t in model.fact_types.items():
            column = _column(self.table, name, n, t.kind)
            given[name] = column
            decl = model.facts[name]
            if t.kind == "list":
                record = {f.name for f in model.records[t.record or ""].fields}
                if any(f.name not in record for f in column.type.value_type):
                    raise Unsupported(f"column `{name}` has a field its record does not declare")
                flat, parent = pc.list_flatten(column), np.asarray(pc.list_parent_indices(column).to_numpy(), dtype=np.int64)
                for f in model.records[t.record or ""].fields:
                    if column.type.value_type.get_field_index(f.name) >= 0:
                        self.check_cells(pc.struct_field(flat, f.name), f.type, None, parent, read=f.name in fields)
                if decl.default is not None:
                    column = self.empty_lists[name] = _empty_for_null(column)
            else:
                self.check_cells(column, t, model.minimums.get(name), None, read=name in read)
                if decl.default is not None:
                    column = pc.fill_null(column, pa.scalar(decl.default.value, column.type))
            facts[name] = column
        return given, facts

    def check_cells(self, column: pa.Array, t: Any, bound: Any, parent: Any, *, read: bool) -> None:
        """Send the rows whose cell the row path refuses: below the fact's least, not among its values, a whole number with a fraction."""
        bad = None
        if bound is not None:
            bad = pc.less(column, pa.scalar(bound[0]))
        if t.kind in ("text", "one of") and (read or t.kind == "one of"):
            outside = self.refused_texts(column, t, read)
            if outside is not None:
                bad = outside if bad is None else pc.or_(bad, outside)
        if t.kind == "whole number" and pa.types.is_decimal(column.type) and column.type.scale > 0:
            # A fraction is a nonzero remainder of the int64 fixed-point values (null slots read 0); a decimal round only when they do not fit.
            f = fixed(column)
            broken = pc.not_equal(column, pc.round(column, 0)) if f is None else _kleene(f.values % 10**f.places != 0, None) if f.places else None
            if broken is not None:
                bad = broken if bad is None else pc.or_(bad, broken)
        if bad is not None:
            self.runtime.flag(pc.fill_null(bad, False), parent, 3)

    def refused_texts(self, column: pa.Array, t: Any, read: bool) -> Any:
        """Where a text cell is one the row path reads as missing (``n/a``, blank; when the rules read the fact) or, for ``one of``, not
        among the values. Judged once for each distinct text when the texts repeat, as a register's do, by the row path's own test."""
        distinct = pc.unique(column) if len(pc.unique(column.slice(0, 4096))) <= 256 else None
        if distinct is None or len(distinct) > 4096:
            missing = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(column)), value_set=pa.array(sorted(MISSING_WORDS))) if read else None
            if t.kind != "one of":
                return missing
            outside = pc.invert(pc.is_in(column, value_set=pa.array(list(t.values))))
            return outside if missing is None else pc.or_(missing, outside)
        refused = [
            text
            for text in distinct.to_pylist()
            if text is not None and ((read and text.strip().lower() in MISSING_WORDS) or (t.kind == "one of" and text not in t.values))
        ]
        return pc.is_in(column, value_set=pa.array(refused, pa.string())) if refused else None

    # --- the columns out ---

    def kept(self) -> pa.Table:
        """The output columns as the columnar function decided them (rows it sent hold placeholders, replaced in ``decide_columns``)."""
        model, n = self.model, self.n
        outcome, priority, reasons, elements, results = self.outputs
        runtime = self.runtime
        out: dict[str, pa.Array] = {"service": self.service()}
        if self.policy.outcome_kind is not None:
            raise Unsupported("a valued outcome")
        out["outcome"] = _undetermined(_array(outcome, n).cast(pa.string())) if outcome is not None else pa.repeat(pa.scalar("undetermined"), n)
        out["priority"] = _array(priority, n).cast(pa.string()) if priority is not None else pa.nulls(n, pa.string())
        out["reasons"] = self.reasons(reasons) if reasons is not None else pa.array([[]] * n, pa.list_(pa.string()))
        out["elements"] = self.elements(elements)
        for name, kind in self.policy.result_kinds:
            value = results[name]
            value = value if isinstance(value, Fixed) else _array(value, n)
            runtime.open_(value, None)
            out[name] = result_column(value, kind)
        out["needed_facts"] = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
        out["exact"] = pa.repeat(pa.scalar(True), n)
        if self.policy.result_kinds:
            out["results_needed"] = out["needed_facts"]  # a row kept here has every result known
        del model
        return pa.table(out)

    def service(self) -> pa.Array:
        """Each row's service: its name when that is text other than spaces, otherwise ``#N`` (its place, from 1), as the row path names it."""
        name = self.model.service_name
        n = self.n
        names = self.table.column(name).combine_chunks().cast(pa.string()) if name and name in self.table.column_names else pa.nulls(n, pa.string())
        if n and not names.null_count and _plainly_named(names):
            return names
        named = pc.fill_null(pc.and_(pc.greater(pc.utf8_length(names), 0), pc.invert(pc.utf8_is_space(names))), False)
        if pc.all(named).as_py() is not False and n:
            return names
        places = pc.binary_join_element_wise("#", pa.array(np.arange(1, n + 1)).cast(pa.string()), "")
        return pc.if_else(named, names, places)

    def reasons(self, reasons: tuple[list[str], list[Any]]) -> pa.Array:
        """The reasons that hold for each row, in their written order; a row where one is unknown is sent."""
        names, parts = reasons
        n = self.n
        for p in parts:
            self.runtime.open_(p, None)
        if len(names) <= 16:
            # Each row's set of reasons as a number (one bit a reason): the few sets that occur are built once and taken for every row.
            sets = np.zeros(n, dtype=np.int32)
            for j, p in enumerate(parts):
                sets |= _truth(p, n)[0].astype(np.int32) << j
            occurring = np.nonzero(np.bincount(sets, minlength=1 << len(names)))[0]
            place = np.zeros(1 << len(names), dtype=np.int32)
            place[occurring] = np.arange(len(occurring), dtype=np.int32)
            lists = pa.array([[x for j, x in enumerate(names) if c >> j & 1] for c in occurring.tolist()], pa.list_(pa.string()))
            return lists.take(pa.array(place[sets]))
        held = np.zeros((n, len(names)), dtype=bool)
        for j, p in enumerate(parts):
            held[:, j] = _truth(p, n)[0]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(held.sum(axis=1), out=offsets[1:])
        which = np.nonzero(held)[1]
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, pa.string()).take(pa.array(which)))

    def elements(self, elements: tuple[Any, str] | None) -> pa.Array:
        """Each row's element outcomes: the item's ``name`` (or ``collection[index]`` without one) and its outcome."""
        n = self.n
        typ = pa.list_(pa.struct([("name", pa.string()), ("outcome", pa.string())]))
        if elements is None:
            return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], typ.value_type))
        values, collection = elements
        flat, parent = self.runtime.lists[collection]
        column = self.runtime_column(collection)
        lengths = np.asarray(pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        m = len(flat)
        outcome = _undetermined(_array(values, m).cast(pa.string()))
        index = np.arange(m) - offsets[:-1][parent]
        names = pc.struct_field(flat, "name") if flat.type.get_field_index("name") >= 0 and pa.types.is_string(flat.type.field("name").type) else None
        if names is None or names.null_count:
            fallback = pc.binary_join_element_wise(pa.scalar(f"{collection}["), pa.array(index).cast(pa.string()), pa.scalar("]"), "")
            names = fallback if names is None else pc.coalesce(names, fallback)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([names, outcome], ["name", "outcome"]))

    def runtime_column(self, collection: str) -> pa.Array:
        found = self.empty_lists.get(collection)
        return found if found is not None else _empty_for_null(_column(self.table, collection, self.n, "list"))


#: Bytes a text of only spaces may begin with: ASCII white space, and every byte of a multi-byte UTF-8 character (some are spaces).
_MAY_BE_SPACE = np.zeros(256, dtype=bool)
_MAY_BE_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_MAY_BE_SPACE[128:] = True


def _plainly_named(names: pa.Array) -> bool:
    """Whether every text (none null) is non-empty and begins with a byte no space begins with, read from the offsets and first bytes:
    such a text is not all spaces, which spares the ``utf8_is_space`` pass over every character for a register's usual names."""
    offsets = np.frombuffer(names.buffers()[1], dtype=np.int32, count=names.offset + len(names) + 1)[names.offset :]
    if np.any(offsets[1:] == offsets[:-1]):
        return False
    data = names.buffers()[2]
    first = np.frombuffer(data, dtype=np.uint8)[offsets[:-1]] if data is not None else np.zeros(0, dtype=np.uint8)
    return not _MAY_BE_SPACE[first].any()


def _undetermined(outcomes: pa.Array) -> pa.Array:
    return pc.fill_null(outcomes, "undetermined") if outcomes.null_count else outcomes


def _empty_for_null(column: pa.Array) -> pa.Array:
    """A list column with its nulls read as empty lists (a list fact's ``default empty``).

    Null slots of a list column built by Arrow hold no items, so dropping the
    validity bitmap leaves them empty; a column whose null slots do hold items
    takes the general (and much slower, on nested types) ``if_else``.
    """
    if not column.null_count:
        return column
    offsets = np.asarray(column.offsets.to_numpy(zero_copy_only=False))
    nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if np.any(offsets[1:][nulls] != offsets[:-1][nulls]):
        return pc.if_else(pc.is_valid(column), column, pa.scalar([], column.type))
    return pa.ListArray.from_arrays(column.offsets, column.values, type=column.type)


def _fixed_pennies(f: Fixed | None) -> pa.Array | None:
    """A money result in fixed point rounded to the penny, as the ``decimal128(38, 2)`` column every money result is; None past int64."""
    found = None if f is None else _fixed_round(f, 2, "half_towards_infinity")
    found = None if found is None else _at(found, 2)
    return None if found is None else arrow(found, pa.decimal128(38, 2))


def result_column(value: Any, kind: str | None) -> pa.Array:
    """A result typed as its JSON encoding says: money to the penny, whole numbers as integers, dates, yes/no; other numbers as their decimal text."""
    from policy_rules.engine.amounts import encode

    if isinstance(value, Fixed):
        pennies = _fixed_pennies(value) if kind == "money" else None
        if pennies is not None:
            return pennies
        value = value.arrow()
    if kind == "money" and pa.types.is_decimal128(value.type) and value.type.scale == 2:
        return value.view(pa.decimal128(38, 2))  # pennies already: the same buffers, typed as every money column out is
    if kind == "money" and pa.types.is_decimal(value.type):
        pennies = _fixed_pennies(fixed(value))
        if pennies is not None:
            return pennies
        try:
            pennies = _vectorised("rounded nearest penny", [_tight(value)])
        except pa.ArrowInvalid:
            pennies = None
        if pennies is not None:
            return pennies.cast(pa.decimal128(38, 2))
    encoded = [None if v is None else encode(v, kind) for v in value.to_pylist()]
    if kind == "money":
        return _money([None if v is None else Decimal(v) for v in encoded])
    if kind == "whole number":
        return pa.array(encoded, pa.int64())
    if kind == "date":
        return pa.array([None if v is None else date.fromisoformat(v) for v in encoded], pa.date32())
    if kind == "yes/no":
        return pa.array(encoded, pa.bool_())
    return pa.array(encoded, pa.string())


def output_schema(policy: Any) -> pa.Schema:
    fields = [
        ("service", pa.string()),
        ("outcome", pa.string()),
        ("priority", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("elements", pa.list_(pa.struct([("name", pa.string()), ("outcome", pa.string())]))),
    ]
    types = {"money": pa.decimal128(38, 2), "whole number": pa.int64(), "date": pa.date32(), "yes/no": pa.bool_()}
    fields += [(name, types.get(kind or "", pa.string())) for name, kind in policy.result_kinds]
    fields += [("needed_facts", pa.list_(pa.string())), ("exact", pa.bool_())]
    if policy.result_kinds:
        fields.append(("results_needed", pa.list_(pa.string())))
    return pa.schema(fields)


def _plain(value: Any, kind: str) -> Any:
    """An Arrow cell as the row path reads facts: nulls left out, list items without their null fields, a percentage as its text (``25%``)."""
    if isinstance(value, list):
        return [{k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item for item in value]
    if kind == "percentage" and isinstance(value, Decimal):
        return f"{value * 100:f}%"
    return value


def _facts(row: dict[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    return {k: _plain(v, kinds[k]) for k, v in row.items() if v is not None}


def add_decision(rows: dict[str, list[Any]], d: Any) -> None:
    """One decision's cells appended to the columns of ``output_schema`` (a register's writer adds its own further columns)."""
    rows["service"].append(d.service)
    rows["outcome"].append(d.outcome)
    rows["priority"].append(d.priority)
    rows["reasons"].append(list(d.reasons))
    rows["elements"].append([{"name": e.name, "outcome": e.outcome} for e in d.elements])
    for name, value, _shown in d.results:
        rows[name].append(value)
    rows["needed_facts"].append(list(d.needed_facts))
    rows["exact"].append(d.needed_facts_exact)
    if "results_needed" in rows:
        rows["results_needed"].append(list(d.results_needed))


def decisions_table(policy: Any, decisions: list[Any]) -> pa.Table:
    """Decisions of the row path as rows of the output table."""
    rows: dict[str, list[Any]] = {f.name: [] for f in output_schema(policy)}
    for d in decisions:
        add_decision(rows, d)
    schema = output_schema(policy)
    arrays = []
    for f in schema:
        values = rows[f.name]
        if pa.types.is_decimal(f.type):
            arrays.append(_money([None if v is None else Decimal(v) for v in values]))
            continue
        if pa.types.is_date32(f.type):
            values = [None if v is None else date.fromisoformat(v) for v in values]
        arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, names=schema.names)


def _money(values: list[Any]) -> pa.Array:
    """Money to the penny: decimal128(38, 2), or decimal256(76, 2) for an amount beyond 36 digits of pounds."""
    try:
        return pa.array(values, pa.decimal128(38, 2))
    except pa.ArrowInvalid:
        return pa.array(values, pa.decimal256(76, 2))


def _unified(a: pa.Table, b: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The two tables in one schema: a money column wide in either is wide in both."""
    fields = [fa if pa.types.is_decimal256(fa.type) else fb for fa, fb in zip(a.schema, b.schema, strict=True)]
    schema = pa.schema(fields)
    return a.cast(schema), b.cast(schema)


def decide_columns(policy: Any, table: pa.Table, as_of: date, *, path: str = "<facts>") -> tuple[pa.Table, dict[str, int]]:
    """Decide every row of ``table``; the rows the columnar function leaves are decided by ``policy.evaluate`` and merged back in place.

    Gives the table and how many rows took the row path, by why (the keys of ``WHY``).
    """
    kept, rows, stats = decide_kept(policy, table, as_of, decided_by=False)
    n = table.num_rows
    schema = output_schema(policy)
    if len(rows):
        given = [c for c in table.column_names if c in policy.model.fact_types]
        raw = table.select(given).take(pa.array(rows)).to_pylist()
        kinds = {name: t.kind for name, t in policy.model.fact_types.items()}
        shown = as_of.isoformat()
        decided = [policy.evaluate(_facts(r, kinds), as_of, shown, trace=False, path=path, index=int(i)) for i, r in zip(rows, raw, strict=True)]
        sent = decisions_table(policy, decided)
    else:
        sent = schema.empty_table()
    if kept is None:
        out = sent
    else:
        typed = [kept.column(f.name) if pa.types.is_decimal(f.type) else kept.column(f.name).cast(f.type) for f in schema]
        kept = pa.Table.from_arrays(typed, names=schema.names)
        kept, sent = _unified(kept, sent)
        order = np.arange(n, dtype=np.int64)
        order[rows] = n + np.arange(len(rows))
        out = pa.concat_tables([kept, sent]).take(pa.array(order)) if len(rows) else kept
    return out.replace_schema_metadata({"row_path": str(sum(stats.values()))}), stats


#: Rows below which a table is decided on one thread: the fixed cost of a call outweighs what a second core saves.
SLICE_ROWS = 32_768
_pool: tuple[ThreadPoolExecutor, int] | None = None
_pool_lock = threading.Lock()


def threads() -> int:
    """How many threads decide a large table: ``POLICY_RULES_THREADS``, else the cores this process may run on."""
    given = os.environ.get("POLICY_RULES_THREADS", "")
    if given.strip().isdigit() and int(given) > 0:
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _threads_pool(workers: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool[1] < workers:
            _pool = (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy-rules-columns"), workers)
        return _pool[0]


def decide_kept(policy: Any, table: pa.Table, as_of: date, *, decided_by: bool = True) -> tuple[pa.Table | None, np.ndarray, dict[str, int]]:
    """The columnar mode alone: its decisions (a ``decided_by`` column added; the rows it sends hold placeholders), the places of the rows it
    sends and how many, by why. For a caller with its own row path (a register writes each row's error where ``decide_columns`` raises).

    A large table is cut into one slice a thread (``threads``): Arrow's and
    numpy's kernels let go of the interpreter while they work, so the slices
    are decided side by side in this process, and joined in order.
    """
    n = table.num_rows
    workers = min(threads(), n // SLICE_ROWS)
    if workers < 2:
        return _decide_slice(policy, table, as_of, decided_by)
    bounds = [n * i // workers for i in range(workers + 1)]
    sliced = [table.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(workers)]
    parts = list(_threads_pool(workers).map(lambda part: _decide_slice(policy, part, as_of, decided_by), sliced))
    stats = {why: sum(p[2][why] for p in parts) for why in parts[0][2]}
    sent = np.concatenate([p[1] + start for p, start in zip(parts, bounds, strict=False)])
    if any(p[0] is None for p in parts):
        # A slice the mode could not decide at all: every row of the table takes the row path, as one call would send them.
        return None, np.arange(n), {why: (n if why == FORM else 0) for why in stats}
    return pa.concat_tables([p[0] for p in parts], promote_options="permissive"), sent, stats


def _decide_slice(policy: Any, table: pa.Table, as_of: date, with_decided_by: bool) -> tuple[pa.Table | None, np.ndarray, dict[str, int]]:
    batch = Batch(policy, table, as_of)
    kept = None
    if batch.outputs is not None:
        try:
            kept = batch.kept()
        except Unsupported:
            batch.runtime.send[:] = 4
    send = batch.runtime.send
    stats = {why: int((send == i).sum()) for i, why in enumerate(WHY) if why is not None}
    if kept is not None and with_decided_by:
        decided_by = batch.runtime.decided_by
        if decided_by is None:
            column = pa.nulls(batch.n, pa.string())
        else:
            column = batch.runtime.decode(decided_by[0], decided_by[1], batch.n)
        kept = kept.append_column("decided_by", column)
    return kept, np.nonzero(send)[0], stats


def arrow_type(model: Any, name: str) -> pa.DataType:
    """The Arrow type a fact's column is given in: yes/no bool, amounts decimal, dates date32, text string, lists of records list<struct>."""
    t = model.fact_types[name]
    if t.kind == "list":
        record = model.records[t.record or ""]
        return pa.list_(pa.struct([(f.name, _field_type(model, record.name, f.name)) for f in record.fields]))
    return pa.decimal128(30, 10) if t.kind in NUMERIC else _fact_type(t.kind)


def _field_type(model: Any, record: str, field: str) -> pa.DataType:
    kind = next(f for f in model.records[record].fields if f.name == field).type.kind
    return pa.decimal128(30, 10) if kind in NUMERIC else _fact_type(kind)


def table_of(model: Any, rows: list[Mapping[str, Any]]) -> pa.Table:
    """Facts mappings as typed Arrow columns (a missing fact a null): how tests and benchmarks give a register to ``decide_columns``."""
    columns = {}
    for name in model.fact_types:
        typ = arrow_type(model, name)
        values = [_cell(r.get(name), typ) for r in rows]
        try:
            columns[name] = pa.array(values, typ)
        except pa.ArrowInvalid:
            # An amount too long for 30 digits (the corpus's edges): 76 digits, 10 after the point, still exact.
            columns[name] = pa.array(values, pa.decimal256(76, 10) if pa.types.is_decimal(typ) else _wide(typ))
    return pa.table(columns)


def _wide(typ: pa.DataType) -> pa.DataType:
    return pa.list_(pa.struct([(f.name, pa.decimal256(76, 10) if pa.types.is_decimal(f.type) else f.type) for f in typ.value_type]))


def _cell(value: Any, typ: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_decimal(typ) and isinstance(value, str) and value.strip().endswith("%"):
        return Decimal(value.strip()[:-1]) / 100
    if pa.types.is_decimal(typ):
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise ValueError(f"{value!r} is not an amount")
        return Decimal(str(value))
    if pa.types.is_date32(typ) and isinstance(value, str):
        return date.fromisoformat(value)
    if pa.types.is_list(typ):
        return [{f.name: _cell(item.get(f.name), f.type) for f in typ.value_type} for item in value]
    return value
