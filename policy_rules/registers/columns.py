"""Registers as Arrow tables: CSV, JSON Lines and Parquet read into typed columns, decided a batch at a time, written from columns.

This is the register path of ``policy-rules evaluate --output`` (``register``
keeps the row path for YAML, JSON, workbooks and traces). A
register is read in batches (``read_batches``): each cell is converted to its
fact's Arrow type column by column (bool for yes/no, ``decimal128`` for
amounts and numbers, int64 for whole numbers, date32 for dates, strings for
text and listed values, ``list<struct>`` for lists of records; null for
unknown). Only cells in their plainest forms are converted by Arrow's kernels;
every other cell is read by ``facts.convert`` itself, so a cell means exactly
what the row reader makes of it and a bad one gets the row reader's located
``FactsError``, word for word. A row with a bad cell is not decided: it is an
error row, as today.

The decide step is one parameter, ``decide(policy, facts, as_of) -> table``:
``decide_by_columns`` by default (the columnar mode of the code generator,
the rows it leaves decided by ``decide_by_rows``: each row through the
generated function or the three-valued evaluator). Its output has one row per input row: ``service``, ``outcome``,
``priority``, ``reasons``, ``elements``, a column per header result,
``needed_facts`` and ``exact``; optionally ``decided_by``, ``questions`` and
``error`` (a row the step could not decide). The writers turn that into the
bytes ``DecisionRows`` writes, or into Parquet.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import itertools
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policy_rules.engine.columnar import add_decision
from policy_rules.engine.decision import DECISION_SCHEMA_VERSION
from policy_rules.engine.facts import MAX_LIST_ITEMS, _at_least, convert, service_name
from policy_rules.errors import ConflictError, FactsError, PolicyError, UsageError
from policy_rules.language.checker import PolicyModel, type_from_ref
from policy_rules.registers.facts import (
    READ_CHUNK,
    FactsStream,
    _csv_header,
    _delimiter,
    _open_regular,
    check_columns,
)
from policy_rules.registers.register import (
    CSV_COLUMNS,
    LISTED,
    OutcomeTotal,
    Summary,
    _csv_quoted,
    _csv_text,
    _num,
)
from policy_rules.safety.escape import for_csv_cell
from policy_rules.safety.outputs import AtomicFile
from policy_rules.values.types import UNKNOWN, Type

if TYPE_CHECKING:
    from policy_rules.api import Policy

#: Rows decided and written at a time: large enough for Arrow's kernels to pay, small enough that memory stays flat. Measured on 1,000,000
#: generated rows: batches of 65,536 peaked at 335 MB resident, of 16,384 at 246 MB (198 MB with ``jemalloc``), and were no slower.
BATCH_ROWS = 16_384
#: Bytes of CSV text Arrow parses at a time. Its streaming reader holds several blocks and their parsed cells: with 4 MB blocks reading a
#: 1,000,000-row register peaked at 244 MB resident, with 1 MB at 137 MB (60 MB of it pyarrow itself), and no slower.
_CSV_BLOCK = 1 << 20
#: The register endings read in columns.
COLUMN_REGISTERS = (".csv", ".jsonl", ".parquet")
#: The decisions files written from columns.
COLUMN_OUTPUTS = (".csv", ".jsonl", ".json", ".parquet")
_MONEY_SCALE = 2
_MAX_PRECISION = 38

DecideStep = Callable[["Policy", pa.Table, date], pa.Table]


def arrow_without_pandas() -> None:
    """Let this process build Arrow arrays from Python lists without importing pandas, when nothing has imported it yet.

    ``pa.array`` asks of every list whether it is a pandas object, and the
    first time it asks it imports pandas: about 40 MB and 0.25 s of a
    register run that never uses it. With pandas hidden for that first
    question Arrow takes it as absent for the question only; anything that
    needs pandas later (``to_pandas``, Dask) imports it as before. Called by
    the command line and the ``--jobs`` workers, not on import, so a program
    using this module with pandas objects is unaffected.
    """
    if "pandas" in sys.modules:
        return
    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hidden)


def arrow_memory_returned() -> None:
    """Give this process's Arrow buffers to ``jemalloc`` where pyarrow has it, so that memory freed after a batch is reused by the next.

    With Arrow's default allocator (mimalloc) each batch's short-lived
    buffers left pages the next batch did not reuse: 1,000,000 rows in
    batches of 16,384 peaked at 246 MB against 198 MB with jemalloc, and the
    peak kept rising with the rows for longer. Called by the command line
    and the ``--jobs`` workers, not on import; a ``ARROW_DEFAULT_MEMORY_POOL``
    set by the user is left alone.
    """
    import os

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or pa.default_memory_pool().backend_name == "jemalloc":
        return
    with contextlib.suppress(NotImplementedError):  # a pyarrow built without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


class _Hidden:
    """A module finder that finds no pandas."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas is not needed here", name="pandas")


class NotColumnar(Exception):
    """Arrow cannot read this CSV file as the row reader would (a malformed file): it is read on by rows, for the row reader's error at its line."""


# --- reading ---------------------------------------------------------------------------------


@attrs.frozen
class Batch:
    """Rows of a register read into columns: the typed facts of the rows that could be read, and every row's name and error.

    ``facts`` holds the rows without an error, in order; ``names`` and
    ``errors`` (None for a row read whole) cover every row; ``first`` is the
    number of services before the batch.
    """

    facts: pa.Table
    names: pa.Array
    errors: list[FactsError | None]
    first: int
    read_whole: bool = attrs.field(default=attrs.Factory(lambda self: self.errors.count(None) == len(self.errors), takes_self=True))

    @property
    def rows(self) -> int:
        return len(self.names)

    def name(self, row: int) -> str:
        return self.names[row].as_py()  # type: ignore[no-any-return]


def arrow_type(typ: Type, model: PolicyModel, scale: int = _MONEY_SCALE) -> pa.DataType:
    """The Arrow type a fact of this type is read into (amounts with ``scale`` places)."""
    kind = typ.kind
    if kind == "yes/no":
        return pa.bool_()
    if kind in ("money", "number", "percentage"):
        return pa.decimal128(_MAX_PRECISION, scale)
    if kind == "whole number":
        return pa.int64()
    if kind == "date":
        return pa.date32()
    if kind == "list":
        record = model.records[typ.record or ""]
        return pa.list_(pa.struct([(f.name, arrow_type(type_from_ref(f.type), model, scale)) for f in record.fields]))
    return pa.string()


class _Converter:
    """Converts one batch's raw cells into typed columns, collecting each row's first bad cell (in column order) as the row reader would."""

    def __init__(
        self, model: PolicyModel, path: str, first: int, count: int, raw_names: Sequence[Any] | pa.Array, read: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.model = model
        self.read = read if read is not None else {}
        self.path = path
        self.first = first
        self.count = count
        self.raw_names = raw_names
        self.errors: list[FactsError | None] = [None] * count

    def name(self, row: int) -> str:
        raw = self.raw_names[row] if len(self.raw_names) else None
        if isinstance(raw, pa.Scalar):
            raw = raw.as_py()
        return service_name(self.model, {self.model.service_name: raw} if self.model.service_name else {}, self.first + row)

    def column(self, fact: str, cells: pa.Array | list[Any]) -> pa.Array:
        """The typed column of a fact; a cell that is not in a plain form goes through ``convert`` (and ``_at_least``), as in ``validate``.

        ``cells`` are strings (a CSV file's, or a Parquet file's text column), a dictionary of strings (a CSV file's yes/no and listed
        values, or a Parquet file's dictionary column), or Python values (JSON, or a Parquet column of another type).
        A column of few distinct cells (yes/no, listed values, dates, small numbers) is read one distinct cell at a time by ``convert``
        itself; other columns by kernels for their plainest forms.
        """
        typ = self.model.fact_types[fact]
        given = isinstance(cells, pa.Array) and _text_dictionary(cells.type)
        if isinstance(cells, pa.Array) and not given and not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
            cells = cells.to_pylist()
        if isinstance(cells, list):
            typed, raws = None, cells
            slow_rows = [i for i, v in enumerate(cells) if v is not None]
        else:
            encoded = cells if given else None
            by_values = self._by_values(typ, fact, encoded) if encoded is not None else None
            if by_values is None:
                cells = cells.cast(pa.string())
                quick = _quick(typ.kind, cells)
                if quick is not None:
                    return self._bounded(fact, quick, cells)
                if encoded is None and typ.kind != "text" and len(cells) >= _FEW_DISTINCT:
                    encoded = pc.dictionary_encode(cells)
                    by_values = self._by_values(typ, fact, encoded)
            if by_values is not None:
                typed, slow = by_values
            elif typ.kind == "list":  # many lists repeat: each distinct one read once
                encoded = encoded if encoded is not None else pc.dictionary_encode(cells)
                typed, slow = self._plain(typ, encoded.dictionary)
                typed = typed.take(encoded.indices)
                slow = slow.take(encoded.indices) if slow is not None else None
            else:
                typed, slow = self._plain(typ, cells)
            raws = None
            slow_rows = np.flatnonzero(pc.fill_null(slow, False).to_numpy(zero_copy_only=False)).tolist() if slow is not None else []
            if by_values is None:
                typed = self._bounded(fact, typed, cells)
            if not slow_rows:
                return typed
            raws = cells.take(pa.array(slow_rows, pa.int64())).to_pylist()
        found: list[Any] = []
        for at, row in enumerate(slow_rows):
            raw = raws[at] if typed is not None else raws[row]
            if self.errors[row] is not None:
                found.append(None)
                continue
            try:
                value = convert(raw, typ, self.model, path=self.path, service=self.name(row), fact=fact)
                if value is not UNKNOWN:
                    _at_least(value, raw, fact, self.model.minimums.get(fact), path=self.path, service=self.name(row), fact=fact)
            except FactsError as error:
                self.errors[row] = error
                value = UNKNOWN
            found.append(None if value is UNKNOWN else value)
        if typed is None:
            values: list[Any] = [None] * len(raws)
            for row, value in zip(slow_rows, found, strict=True):
                values[row] = value
            return _typed_array(values, typ, self.model)
        return _replaced(typed, slow_rows, found, typ, self.model)

    def _by_values(self, typ: Type, fact: str, encoded: pa.DictionaryArray) -> tuple[pa.Array, pa.Array | None] | None:
        """A column of few distinct cells, given as a dictionary of them, each distinct cell read by ``convert`` once, and a mask of the
        cells it refused (None: none).

        None when the column has too many distinct cells for this to pay (or is text, which is kept as written); the caller keeps the
        dictionary for the next way of reading it.
        """
        if typ.kind == "text" or len(encoded.dictionary) > max(_FEW_DISTINCT, len(encoded) // 16):
            return None
        distinct = encoded.dictionary.to_pylist()
        values: list[Any] = []
        refused: list[bool] = []
        bound = self.model.minimums.get(fact)
        read = self.read.setdefault(fact, {})
        if len(read) > _READ_KEPT:
            read.clear()
        for raw in distinct:
            found = read.get(raw)
            if found is None:
                try:
                    value = convert(raw, typ, self.model, path=self.path, service=None, fact=fact)
                    if value is not UNKNOWN:
                        _at_least(value, raw, fact, bound, path=self.path, service=None, fact=fact)
                except FactsError:
                    found = read[raw] = (None, True)
                else:
                    found = read[raw] = (None if value is UNKNOWN else value, False)
            values.append(found[0])
            refused.append(found[1])
        typed = _typed_array(values, typ, self.model).take(encoded.indices)
        return typed, (pa.array(refused, pa.bool_()).take(encoded.indices) if any(refused) else None)

    def _bounded(self, fact: str, typed: pa.Array, cells: pa.Array) -> pa.Array:
        """A column converted by kernels, with the cells below the fact's least value refused as ``_at_least`` refuses them."""
        bound = self.model.minimums.get(fact)
        if bound is None or not typed.null_count < len(typed):
            return typed
        below = pc.fill_null(pc.less(typed, pa.scalar(bound[0], typed.type) if pa.types.is_decimal(typed.type) else int(bound[0])), False)
        for row in np.flatnonzero(np.asarray(below)).tolist():
            if self.errors[row] is None:
                raw = cells[row].as_py()
                try:
                    _at_least(Decimal(typed[row].as_py()), raw, fact, bound, path=self.path, service=self.name(row), fact=fact)
                except FactsError as error:
                    self.errors[row] = error
        return typed

    def _plain(self, typ: Type, cells: pa.Array) -> tuple[pa.Array | None, pa.Array | None]:
        """Cells in their plainest forms converted by kernels, and a mask of the cells left to ``convert`` (None: every cell done)."""
        kind = typ.kind
        trimmed = pc.utf8_trim_whitespace(cells)
        missing = pc.fill_null(pc.is_in(pc.utf8_lower(trimmed), value_set=_words(_MISSING)), True)
        if kind == "text":
            return pc.if_else(missing, pa.scalar(None, pa.string()), cells), None
        if kind == "yes/no":
            lower = pc.utf8_lower(trimmed)
            yes, no = pc.is_in(lower, value_set=_words(_YES)), pc.is_in(lower, value_set=_words(_NO))
            typed = pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
            return typed, pc.invert(pc.or_(missing, pc.or_(yes, no)))
        if kind == "one of":
            known = pc.is_in(trimmed, value_set=pa.array(typ.values, pa.string()))
            return pc.if_else(known, trimmed, pa.scalar(None, pa.string())), pc.invert(pc.or_(missing, known))
        if kind in ("money", "number", "whole number"):
            pattern = _PLAIN_MONEY if kind == "money" else _PLAIN_WHOLE if kind == "whole number" else _PLAIN_NUMBER
            plain = pc.match_substring_regex(trimmed, pattern)
            digits = pc.replace_substring_regex(pc.if_else(plain, trimmed, "0"), "[£,]", "")
            target = pa.int64() if kind == "whole number" else pa.decimal128(_MAX_PRECISION, _MONEY_SCALE)
            typed = pc.if_else(plain, pc.cast(digits, target), pa.scalar(None, target))
            return typed, pc.invert(pc.or_(missing, plain))
        if kind == "date":
            cast = _iso_dates(pc.if_else(missing, pa.scalar(None, pa.string()), trimmed))
            if cast is not None:
                return cast, pc.invert(pc.or_(missing, pc.is_valid(cast)))
            plain = pc.match_substring_regex(trimmed, r"^\d{4}-\d{2}-\d{2}$")
            parsed = pc.strptime(pc.if_else(plain, trimmed, "1970-01-01"), format="%Y-%m-%d", unit="s", error_is_null=True)
            same = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), trimmed), False)  # 2020-02-30 is not read as 1 March
            dates = pc.cast(parsed, pa.date32())
            plain = pc.and_(plain, pc.and_(same, pc.fill_null(pc.greater_equal(dates, _first_day()), False)))  # year 0 is not a date either
            typed = pc.if_else(plain, dates, pa.scalar(None, pa.date32()))
            return typed, pc.invert(pc.or_(missing, plain))
        if kind == "list":
            return self._plain_lists(typ, cells, missing)
        return None, pc.invert(missing)  # percentages: every given cell is read by ``convert``

    def _plain_lists(self, typ: Type, cells: pa.Array, missing: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Lists of records written as plain JSON (``[{"name": "Cleaning", "specialist": false}]``) read an item at a time; the rest to ``convert``.

        A plain list gives its items' text and yes/no fields in their declared order, with no escapes, braces or brackets in its strings and
        nothing but spaces between its tokens, so its items are the text between its braces. Items repeat far more than lists do: each
        distinct item is read by ``convert`` itself (as the one item of a list, which reads an item alone), so a field not given takes its
        default and text that is a missing word is unknown, exactly as ``_list`` reads them.
        """
        record = self.model.records[typ.record or ""]
        types = {f.name: type_from_ref(f.type) for f in record.fields}
        target = arrow_type(typ, self.model)
        plain = pc.fill_null(pc.match_substring_regex(cells, _list_pattern(record.fields, types)), False)
        if not pc.any(plain).as_py():
            return pa.nulls(len(cells), target), pc.invert(missing)
        parts = pc.split_pattern(cells.filter(plain), "}")
        offsets = np.asarray(parts.offsets).astype(np.int64)
        pieces = parts.flatten()
        item = np.ones(len(pieces), dtype=bool)
        item[offsets[1:] - 1] = False  # the last piece of a list is its closing bracket
        bodies = pc.utf8_rtrim(pc.utf8_ltrim(pieces.filter(pa.array(item)), characters="[,{ \t"), characters=" \t")
        encoded = pc.dictionary_encode(bodies)
        known = self.read.setdefault(f"[{typ.record}]", {})  # items read in earlier batches (no fact has this name)
        if len(known) > _READ_KEPT:
            known.clear()
        read: list[Any] = []
        for body in encoded.dictionary.to_pylist():
            found = known.get(body)
            if found is None:
                try:
                    found = known[body] = dict(convert(f"[{{{body}}}]", typ, self.model, path=self.path, service=None, fact="")[0])
                except FactsError:
                    found = known[body] = False
            if found is False:  # a value a plain item cannot hold: the lists that hold it are read by ``convert`` whole
                return pa.nulls(len(cells), target), pc.invert(missing)
            read.append(found)
        items = pa.array(read, target.value_type).take(encoded.indices)
        lists = pa.ListArray.from_arrays(pa.array((offsets - np.arange(len(offsets))).astype(np.int32)), items, type=target)
        long = pc.greater(pc.list_value_length(lists), MAX_LIST_ITEMS)
        places = pc.subtract(pc.cumulative_sum(plain.cast(pa.int64())), 1)
        typed = lists.take(pc.if_else(plain, places, pa.scalar(None, pa.int64())))
        plain = pc.and_(plain, pc.invert(pc.fill_null(long.take(pc.if_else(plain, places, 0)), False)))
        return typed, pc.invert(pc.or_(missing, plain))


_MISSING = ("", "unknown", "n/a", "?")
_YES = ("yes", "true", "y")
_NO = ("no", "false", "n")


@functools.cache
def _words(words: tuple[str, ...]) -> pa.Array:
    """A value set for ``is_in``, made when first used (not on import: see ``arrow_without_pandas``)."""
    return pa.array(words, pa.string())


#: Amounts a kernel reads exactly as ``_number`` does: not negative, at most 2 places, at most 30 digits before the point.
_PLAIN_MONEY = r"^£?(\d{1,3}(,\d{3}){0,9}|\d{1,30})(\.\d{1,2})?$"
_PLAIN_NUMBER = r"^(\d{1,3}(,\d{3}){0,9}|\d{1,30})(\.\d{1,2})?$"
_PLAIN_WHOLE = r"^(\d{1,3}(,\d{3}){0,5}|\d{1,18})$"


#: Distinct cells of a fact whose reading is kept from one batch to the next (then forgotten, so that memory stays flat).
_READ_KEPT = 1 << 16
#: Below this many rows, or distinct cells, a column is read by kernels (or by values) without counting its distinct cells first.
_FEW_DISTINCT = 256


def _quick(kind: str, cells: pa.Array) -> pa.Array | None:
    """A column every cell of which is in the one plainest spelling (``yes``/``no``; digits alone), read by the fewest kernels; else None."""
    if kind == "yes/no":
        return _yes_no_bytes(cells)
    if kind not in ("money", "number", "whole number") or not len(cells):
        return None
    if not pc.all(pc.fill_null(pc.ascii_is_decimal(cells), False)).as_py() or pc.max(pc.binary_length(cells)).as_py() > _QUICK_DIGITS:
        return None
    whole = pc.cast(cells, pa.int64())
    if kind == "whole number":
        return whole
    pence = np.zeros((len(cells), 2), dtype=np.int64)  # decimal128 as two little-endian words: the value in hundredths, and 0 (not negative)
    pence[:, 0] = np.asarray(whole) * 10**_MONEY_SCALE
    return pa.Array.from_buffers(pa.decimal128(_MAX_PRECISION, _MONEY_SCALE), len(cells), [None, pa.py_buffer(pence)])


def _iso_dates(given: pa.Array) -> pa.Array | None:
    """Trimmed date cells (null where missing) read by Arrow's own cast, when every one is a date it can read; else None.

    The cast reads exactly ``YYYY-MM-DD`` dates of the calendar (it refuses
    2021-02-29 and month 13) and raises on any other cell, so it is tried on
    the whole column at once: one strict pass, where the general path needs a
    pattern, a parse and a print to tell a real date from 2020-02-30. Of the
    cells it reads, those not ten characters long or before year 1 (which
    ``date.fromisoformat`` refuses) are left null, for ``convert`` to judge.
    """
    try:
        typed = pc.cast(given, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    plain = pc.fill_null(pc.and_(pc.equal(pc.binary_length(given), 10), pc.greater_equal(typed, _first_day())), False)
    return typed if pc.all(pc.or_(plain, pc.is_null(given))).as_py() else pc.if_else(plain, typed, pa.scalar(None, pa.date32()))


@functools.cache
def _first_day() -> pa.Scalar:
    return pa.scalar(date(1, 1, 1), pa.date32())


def _string_offsets(values: pa.Array) -> np.ndarray:
    """Where each cell of a text column starts in its data buffer, and where the last ends (the column's own slice of the offsets)."""
    return np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]


def _yes_no_bytes(cells: pa.Array) -> pa.Array | None:
    """A column all ``yes`` or ``no`` read from its bytes: three-byte cells must be ``yes``, two-byte ones ``no``; None for any other column.

    A register's twenty yes/no columns are mostly written this way; looking
    at the first bytes of each cell is a few numpy passes, where comparing
    every cell with both words is four kernels a column.
    """
    if cells.null_count or not len(cells):
        return None
    offsets = _string_offsets(cells)
    starts, lengths = offsets[:-1], np.diff(offsets)
    yes = lengths == 3
    no = lengths == 2
    if not np.all(yes | no):
        return None
    data = np.frombuffer(cells.buffers()[2], dtype=np.uint8)
    at_yes, at_no = starts[yes], starts[no]
    if not (
        np.all(data[at_yes] == ord("y"))
        and np.all(data[at_yes + 1] == ord("e"))
        and np.all(data[at_yes + 2] == ord("s"))
        and np.all(data[at_no] == ord("n"))
        and np.all(data[at_no + 1] == ord("o"))
    ):
        return None
    return pa.array(yes, pa.bool_())


#: Digits a quick amount may have: its value in hundredths stays below 2**63.
_QUICK_DIGITS = 16


def _replaced(typed: pa.Array, rows: list[int], values: list[Any], typ: Type, model: PolicyModel) -> pa.Array:
    """A kernel-read column with the cells at ``rows`` replaced by the values ``convert`` gave them (None for unknown)."""
    replacements = _typed_array(values, typ, model)
    if replacements.type == typed.type:
        order = np.arange(len(typed), dtype=np.int64)
        order[rows] = len(typed) + np.arange(len(rows), dtype=np.int64)
        return pa.concat_arrays([typed, replacements]).take(pa.array(order))
    whole = typed.to_pylist()  # an amount written with more places than the kernels read: the column takes its scale
    for row, value in zip(rows, values, strict=True):
        whole[row] = value
    return _typed_array(whole, typ, model)


_JSON_SPACE = r"[ \t]*"
#: The values a plain list's items give: text without escapes or braces, and yes/no (other fields are read by ``convert``).
_JSON_VALUES = {"text": r'"[^"\\\x00-\x1f{}]*"', "yes/no": r"(?:true|false)"}


def _list_pattern(fields: Sequence[Any], types: Mapping[str, Type]) -> str:
    """A plain JSON list of records: items of the fields given in their declared order, each at most once, as text or yes/no values."""
    given = [f.name for f in fields if types[f.name].kind in _JSON_VALUES]
    pairs = [f'"{name}"{_JSON_SPACE}:{_JSON_SPACE}{_JSON_VALUES[types[name].kind]}' for name in given]
    comma = f"{_JSON_SPACE},{_JSON_SPACE}"
    starts = ["".join([pairs[at], *(f"(?:{comma}{later})?" for later in pairs[at + 1 :])]) for at in range(len(pairs))]
    item = r"\{" + _JSON_SPACE + (f"(?:{'|'.join(starts)})?" if starts else "") + _JSON_SPACE + r"\}"
    return rf"^{_JSON_SPACE}\[{_JSON_SPACE}(?:{item}(?:{comma}{item})*)?{_JSON_SPACE}\]{_JSON_SPACE}$"


def _scale_of(values: list[Any]) -> int:
    scale = _MONEY_SCALE
    for value in values:
        if isinstance(value, Decimal):
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > scale:
                scale = -exponent
        elif isinstance(value, Mapping):
            scale = max(scale, _scale_of(list(value.values())))
        elif isinstance(value, (list, tuple)):
            scale = max(scale, _scale_of(list(value)))
    return min(scale, _MAX_PRECISION)


def _typed_array(values: list[Any], typ: Type, model: PolicyModel) -> pa.Array:
    """Typed Python values (as ``convert`` gives them) as an Arrow column; amounts keep every place they were written with."""
    if typ.kind == "whole number":
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if typ.kind == "list":
        values = [None if v is None else [dict(item) for item in v] for v in values]
    scaled = typ.kind in ("money", "number", "percentage") or (typ.kind == "list" and _has_amounts(arrow_type(typ, model)))
    return pa.array(values, arrow_type(typ, model, _scale_of(values) if scaled else _MONEY_SCALE))


#: Kinds of fact whose CSV cells the reader gives as a dictionary of their few distinct spellings, each then read once (``_by_values``).
_DICTIONARY_KINDS = frozenset({"yes/no", "one of"})


def _text_dictionary(typ: pa.DataType) -> bool:
    return pa.types.is_dictionary(typ) and (pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type))


def _has_amounts(typ: pa.DataType) -> bool:
    if pa.types.is_decimal(typ):
        return True
    if pa.types.is_list(typ):
        return _has_amounts(typ.value_type)
    return pa.types.is_struct(typ) and any(_has_amounts(field.type) for field in typ)


def _csv_batches(path: str, model: PolicyModel, rows: int) -> Iterator[tuple[pa.RecordBatch, tuple[str, ...]]]:
    """A CSV register's cells as batches of strings, with its header as the row reader reads it; ``NotColumnar`` where Arrow would read it otherwise."""
    import pyarrow.csv as pcsv

    file, _info = _open_regular(Path(path), path)
    with file:
        start = 3 if file.read(3) == codecs.BOM_UTF8 else 0
        file.seek(start)
        head = file.read(READ_CHUNK)
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < READ_CHUNK)
        except UnicodeDecodeError:
            raise NotColumnar from None
        first_line = text.split("\n", 1)[0]
        if "\n" not in text or not first_line.strip() or '"' in first_line or "\x00" in text:
            raise NotColumnar  # an odd header, or a file too short to matter: the row reader gives its exact error or reading
        delimiter = _delimiter(first_line + "\n")
        header = _csv_header(csv.reader([first_line + "\n"], delimiter=delimiter, strict=True), path)
        check_columns(header, model.fact_types, path)
        raw_names = next(csv.reader([first_line], delimiter=delimiter))
        file.seek(start + len(first_line.encode("utf-8")) + 1)
        columns = [f"c{i}" for i in range(len(raw_names))]
        kinds = [model.fact_types[name].kind if name in model.fact_types else None for name in header]
        types = {c: pa.dictionary(pa.int32(), pa.string()) if i < len(kinds) and kinds[i] in _DICTIONARY_KINDS else pa.string() for i, c in enumerate(columns)}
        options = (
            pcsv.ReadOptions(column_names=columns, block_size=_CSV_BLOCK, use_threads=True),
            pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
            pcsv.ConvertOptions(column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        watched = _NoNul(file)
        try:
            reader = pcsv.open_csv(watched, read_options=options[0], parse_options=options[1], convert_options=options[2])
            pending: list[pa.RecordBatch] = []
            size = 0
            for batch in reader:
                pending.append(batch)
                size += batch.num_rows
                if size >= rows:
                    for cut in _cut(pending, rows, header):
                        watched.check()
                        yield cut
                    size = sum(b.num_rows for b in pending)
            if pending:
                watched.check()
                yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0], header
        except pa.ArrowInvalid:
            raise NotColumnar from None


class _NoNul:
    """The CSV file as Arrow reads it, each read looked through for a NUL byte (the row reader's to report, at its line).

    ``check`` before a batch is given out: while no NUL has been read, the
    batch's rows, read before, hold none; once one has, the rest of the file
    goes to the row reader.
    """

    def __init__(self, file: Any) -> None:
        self.file = file
        self.nul = False

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.file.read(size)
        if b"\x00" in data:
            self.nul = True
        return data

    def check(self) -> None:
        if self.nul:
            raise NotColumnar

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


def _cut(pending: list[pa.RecordBatch], rows: int, header: tuple[str, ...]) -> Iterator[tuple[pa.RecordBatch, tuple[str, ...]]]:
    """Batches of ``rows`` rows cut from the blocks read so far; the rows left over stay in ``pending``, for the next blocks to join."""
    table = pa.Table.from_batches(pending).combine_chunks()
    pending.clear()
    at = 0
    while table.num_rows - at >= rows:
        yield table.slice(at, rows).to_batches()[0], header
        at += rows
    if at < table.num_rows:
        pending.extend(_compact(table.slice(at)).to_batches())


#: A dictionary column carried over to the next batch keeps at most this many spellings it no longer uses.
_DICTIONARY_KEPT = 64


def _compact(table: pa.Table) -> pa.Table:
    """The rows left over from a cut, each dictionary column holding only the spellings those rows use.

    A slice keeps its whole dictionary, and joining the next blocks to it
    unifies their dictionaries with that one, so without this a column of
    many distinct (wrong) spellings would carry every one read so far into
    every later batch.
    """
    for at, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type) and sum(len(chunk.dictionary) for chunk in column.chunks) > _DICTIONARY_KEPT:
            table = table.set_column(at, table.field(at), pc.dictionary_encode(column.cast(column.type.value_type)))
    return table


def _text(column: pa.Array) -> pa.Array:
    """A column of cells as text, whether the reader gave them as text or as a dictionary of spellings."""
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _not_blank(batch: pa.RecordBatch, delimiter_checked: bool = True) -> pa.RecordBatch:
    """The rows that hold something: a row of blank cells is skipped, as the row reader skips it. Only the rows whose first cell is blank
    have their other cells looked at."""
    if not batch.num_columns:
        return batch
    first = pc.not_equal(pc.utf8_trim_whitespace(_text(batch.column(0))), "")
    if pc.all(first).as_py():
        return batch
    keep = np.asarray(first).copy()
    blank = np.flatnonzero(~keep)
    rest = batch.take(pa.array(blank))
    filled = np.zeros(len(blank), dtype=bool)
    for column in rest.columns[1:]:
        filled |= np.asarray(pc.not_equal(pc.utf8_trim_whitespace(_text(column)), ""))
    keep[blank[filled]] = True
    return batch.filter(pa.array(keep))


def _string_batches(path: str, kind: str, model: PolicyModel, rows: int) -> Iterator[tuple[pa.RecordBatch, tuple[str, ...]]]:
    if kind == ".csv":
        for batch, header in _csv_batches(path, model, rows):
            yield _not_blank(batch), header
        return
    yield from _parquet_batches(path, model, rows)


def _parquet_batches(path: str, model: PolicyModel, rows: int) -> Iterator[tuple[pa.RecordBatch, tuple[str, ...]]]:
    import pyarrow.parquet as pq

    file, _info = _open_regular(Path(path), path)
    with file:
        try:
            parquet = pq.ParquetFile(file)
        except (pa.ArrowInvalid, OSError):
            raise FactsError("this is not a Parquet file; save the register as Parquet, or as CSV with a .csv name", path=path) from None
        header = tuple(parquet.schema_arrow.names)
        check_columns(header, model.fact_types, path)
        count = 0
        for batch in parquet.iter_batches(batch_size=rows):
            count += batch.num_rows
            yield batch, header
        if not count:
            raise FactsError("the Parquet file has columns but no services", path=path)


def _row_batches(path: str, model: PolicyModel, rows: int, skip: int = 0) -> Iterator[Batch]:
    """A register read by the row reader (JSON Lines, or a CSV file Arrow cannot read as it does), its errors at their lines; each batch's values
    then converted column by column. ``skip`` services already given are read past."""
    with FactsStream(path, known=model.fact_types) as stream:
        services = itertools.islice(stream, skip, None)
        first = skip
        while chunk := list(itertools.islice(services, rows)):
            yield _batch_of_mappings([s.raw for s in chunk], model, path, first)
            first += len(chunk)


def _batch_of_mappings(raws: list[Any], model: PolicyModel, path: str, first: int) -> Batch:
    errors: list[FactsError | None] = [None] * len(raws)
    known = model.fact_types
    for at, raw in enumerate(raws):
        if not isinstance(raw, Mapping):
            errors[at] = FactsError(f"a service must be a mapping of fact names to values, not {_shown(raw)}", path=path, service=f"#{first + at + 1}")
            continue
        for key in raw:
            if not isinstance(key, str) or key not in known:
                from policy_rules.errors import did_you_mean

                name = service_name(model, raw, first + at)
                errors[at] = FactsError(
                    f"there is no fact called `{key}` in this policy{did_you_mean(str(key), known)}", path=path, service=name, fact=str(key)
                )
                break
    names = pa.array([service_name(model, raw, first + at) if isinstance(raw, Mapping) else f"#{first + at + 1}" for at, raw in enumerate(raws)], pa.string())
    columns = {}
    present = [fact for fact in known if any(isinstance(r, Mapping) and fact in r for r in raws)]
    raw_names = [r.get(model.service_name) if isinstance(r, Mapping) and model.service_name else None for r in raws]
    converter = _Converter(model, path, first, len(raws), raw_names)
    converter.errors = errors
    for fact in present:
        # a service's facts are checked in the order it gives them; a row with two bad cells reports its first
        values = [r.get(fact) if isinstance(r, Mapping) else None for r in raws]
        columns[fact] = converter.column(fact, pa.array(values, pa.string()) if all(v is None or type(v) is str for v in values) else values)
    _first_in_order(raws, present, converter, model, path, first)
    return _finish(model, columns, len(raws), names, converter.errors, first)


def _first_in_order(raws: list[Any], present: list[str], converter: _Converter, model: PolicyModel, path: str, first: int) -> None:
    """A mapping with two bad values reports the first it gives, as ``validate`` does: re-read the rows with an error in their own order."""
    for at, error in enumerate(converter.errors):
        raw = raws[at]
        if error is None or not isinstance(raw, Mapping) or error.fact is None:
            continue
        for key, value in raw.items():
            if key == error.fact.split("[")[0]:
                break
            try:
                typed = convert(value, model.fact_types[key], model, path=path, service=converter.name(at), fact=key)
                if typed is not UNKNOWN:
                    _at_least(typed, value, key, model.minimums.get(key), path=path, service=converter.name(at), fact=key)
            except FactsError as earlier:
                converter.errors[at] = earlier
                break


def _shown(value: Any) -> str:
    from policy_rules.engine.facts import _shown as shown

    return shown(value)


def _finish(model: PolicyModel, columns: dict[str, pa.Array], count: int, names: pa.Array, errors: list[FactsError | None], first: int) -> Batch:
    """The batch's facts table: the rows read whole, each fact's defaults filled in where it is unknown (as ``validate`` fills them)."""
    whole = errors.count(None) == len(errors)
    arrays, fields = [], []
    for fact, decl in model.facts.items():
        typ = model.fact_types[fact]
        column = columns.get(fact)
        if column is None:
            column = pa.nulls(count, arrow_type(typ, model))
        if decl.default is not None and column.null_count:
            default = decl.default.value if decl.default.kind != "list" else []
            if typ.kind == "whole number":
                default = int(default)
            column = _no_lists_for_nulls(column) if default == [] else pc.fill_null(column, pa.scalar(default, column.type))
        arrays.append(column)
        fields.append(pa.field(fact, column.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields)) if arrays else pa.table({"_": pa.nulls(count)}).drop_columns(["_"])
    if not whole:
        table = table.filter(pa.array([e is None for e in errors]))
    return Batch(table, names, errors, first, whole)


def _names(raw: pa.Array, first: int, count: int) -> pa.Array:
    """Each row's service name as ``service_name`` gives it from a text cell: the cell as written, or ``#N`` (its place in the register) when blank."""

    def numbered() -> pa.Array:
        return pc.binary_join_element_wise("#", pc.cast(pa.array(np.arange(first + 1, first + count + 1, dtype=np.int64)), pa.string()), "")

    if not len(raw):
        return numbered()
    given = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(raw), ""), False)
    if pc.all(given).as_py():  # the usual register: every service named, no numbers to make
        return raw.cast(pa.string())
    return pc.if_else(given, raw, numbered())


def _no_lists_for_nulls(lists: pa.Array) -> pa.Array:
    """A list column with each null an empty list, from its offsets (``fill_null`` with an empty list is much slower for lists of records)."""
    valid = np.asarray(lists.is_valid())
    offsets = np.asarray(lists.offsets)
    lengths = np.where(valid, np.diff(offsets), 0)
    return pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)), lists.flatten(), type=lists.type)


def read_batches(path: str, policy: Policy, rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The register at ``path`` (``.csv``, ``.jsonl``, ``.parquet``) in batches of typed facts, each row's bad cell located as the row reader locates it.

    A CSV file whose text Arrow would read otherwise than the row reader (a
    row with too few cells, an unclosed quote, a NUL byte, text that is not
    UTF-8, an odd header) is read on by the row reader from where Arrow
    stopped, which reports the problem at its line as it always has.
    """
    model = policy.model
    kind = Path(path).suffix.lower()
    if kind == ".jsonl":
        yield from _row_batches(path, model, rows)
        return
    first = 0
    read: dict[str, dict[str, Any]] = {}  # each fact's distinct cells read so far, for the batches after
    cells = read_ahead(_string_batches(path, kind, model, rows))  # parsed by Arrow in a thread of its own while earlier cells are typed here
    try:
        for batch, header in cells:
            count = batch.num_rows
            named = {h: i for i, h in enumerate(header) if h}
            raw_names = _text(batch.column(named[model.service_name])) if model.service_name in named else pa.nulls(0, pa.string())
            converter = _Converter(model, path, first, count, raw_names, read)
            names = _names(raw_names, first, count)
            columns = {fact: converter.column(fact, batch.column(at)) for fact, at in named.items()}
            yield _finish(model, columns, count, names, converter.errors, first)
            first += count
    except NotColumnar:
        cells.close()
        yield from _row_batches(path, model, rows, skip=first)
        return
    finally:
        cells.close()
    if not first and kind == ".csv":
        raise FactsError("the CSV file has a header row but no services", path=path)


# --- the row path as a decide step -----------------------------------------------------------


def output_schema(policy: Policy) -> pa.Schema:
    """The columns a decide step gives (the optional ``decided_by``, ``questions`` and ``error`` included)."""
    results = [pa.field(name, _result_type(kind)) for name, kind in policy.result_kinds]
    return pa.schema(
        [
            pa.field("service", pa.string()),
            pa.field("outcome", pa.string()),
            pa.field("priority", pa.string()),
            pa.field("reasons", pa.list_(pa.string())),
            pa.field("elements", _ELEMENTS),
            *results,
            pa.field("needed_facts", pa.list_(pa.string())),
            pa.field("exact", pa.bool_()),
            *([pa.field("results_needed", pa.list_(pa.string()))] if results else []),
            pa.field("decided_by", pa.string()),
            pa.field("questions", _QUESTIONS),
            pa.field("error", _ERROR),
        ]
    )


_ELEMENTS = pa.list_(pa.struct([("name", pa.string()), ("outcome", pa.string())]))
_QUESTIONS = pa.list_(pa.struct([("fact", pa.string()), ("question", pa.string())]))
_ERROR = pa.struct([("kind", pa.string()), ("message", pa.string()), ("location", pa.string()), ("text", pa.string())])


def _result_type(kind: str | None) -> pa.DataType:
    """A result's column: money in pence exactly, whole numbers, dates and yes/no typed; other numbers as the decimal text the JSON decision gives."""
    return {"money": pa.decimal128(_MAX_PRECISION, _MONEY_SCALE), "whole number": pa.int64(), "date": pa.date32(), "yes/no": pa.bool_()}.get(
        kind or "", pa.string()
    )


def _typed_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the facts table as ``validate`` gives facts: unknown facts and fields left out, lists as tuples, whole numbers as ``Decimal``."""
    typed = {}
    for key, value in row.items():
        if value is None:
            continue
        if type(value) is list:
            value = tuple({k: v for k, v in item.items() if v is not None} for item in value)
        elif type(value) is int:
            value = Decimal(value)
        typed[key] = value
    return typed


def decide_by_rows(policy: Policy, table: pa.Table, as_of: date) -> pa.Table:
    """The decide step by rows: each row by the generated function, or by the three-valued evaluator when it cannot; a row that cannot be decided
    (a conflict between rules, a calculation that fails) has ``error`` set. The columnar mode sends here the rows it cannot decide."""
    schema = output_schema(policy)
    pieces = [_decide_rows(policy, table.slice(at, _ROWS_AT_ONCE), as_of, at) for at in range(0, table.num_rows, _ROWS_AT_ONCE)]
    return pa.concat_tables(pieces) if pieces else schema.empty_table()


#: Rows turned into Python values at a time by ``decide_by_rows``: their dictionaries are the largest thing a run holds.
_ROWS_AT_ONCE = 4096


def decide_by_columns(policy: Policy, table: pa.Table, as_of: date) -> pa.Table:
    """The decide step in columns: the columnar mode decides what it can; the rows it leaves (open, conflicting, erring, outside a declaration)
    are decided by rows as ``decide_by_rows`` decides them, errors recorded, and put back in their places."""
    kept, rows, _stats = policy.decide_columns_kept(table, as_of)
    schema = output_schema(policy)
    n = table.num_rows
    places = [int(i) for i in rows]
    pieces = [
        _decide_rows(policy, table.take(pa.array(places[at : at + _ROWS_AT_ONCE], pa.int64())), as_of, 0, places[at : at + _ROWS_AT_ONCE])
        for at in range(0, len(places), _ROWS_AT_ONCE)
    ]
    sent = pa.concat_tables(pieces) if pieces else schema.empty_table()
    if kept is None:
        return sent
    no_questions = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], _QUESTIONS.value_type), type=_QUESTIONS)
    filled = {"questions": no_questions, "error": pa.nulls(n, _ERROR)}
    ours = pa.Table.from_arrays([filled[f.name] if f.name in filled else kept.column(f.name).cast(f.type) for f in schema], schema=schema)
    if not len(rows):
        return ours
    order = np.arange(n, dtype=np.int64)
    order[rows] = n + np.arange(len(rows))
    return pa.concat_tables([ours, sent]).take(pa.array(order))


def _decide_rows(policy: Policy, table: pa.Table, when: date, first: int, places: Sequence[int] | None = None) -> pa.Table:
    model = policy.model
    columns: dict[str, list[Any]] = {f.name: [] for f in output_schema(policy)}
    for index, row in zip(places if places is not None else itertools.count(first), table.to_pylist(), strict=False):
        facts = _typed_row(row)
        try:
            decision = policy.decide_fast(facts, when, index=index)
            if decision is None:
                decision = policy.decide(facts, service_name(model, facts, index), when, trace=False)
        except PolicyError as error:
            kind = "facts" if isinstance(error, FactsError) else "conflict" if isinstance(error, ConflictError) else "evaluation"
            for name in columns:
                columns[name].append(None)
            columns["service"][-1] = service_name(model, facts, index)
            columns["error"][-1] = {"kind": kind, "message": error.message, "location": error.location, "text": str(error)}
            continue
        add_decision(columns, decision)
        columns["decided_by"].append(decision.decided_by)
        columns["questions"].append([{"fact": q.fact, "question": q.question} for q in decision.questions])
        columns["error"].append(None)
    schema = output_schema(policy)
    kinds = dict(policy.result_kinds)
    arrays = [_results_array(columns[f.name], kinds[f.name]) if f.name in kinds else pa.array(columns[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _results_array(values: list[Any], kind: str | None) -> pa.Array:
    typ = _result_type(kind)
    if pa.types.is_decimal(typ):
        return pa.array([None if v is None else Decimal(v) for v in values], typ)
    if pa.types.is_date32(typ):
        return pa.array([None if v is None else date.fromisoformat(v) for v in values], typ)
    if pa.types.is_string(typ):
        return pa.array([None if v is None else str(v) for v in values], typ)
    return pa.array(values, typ)


# --- decided batches -------------------------------------------------------------------------


@attrs.frozen
class Decided:
    """A batch of the register and its decisions: ``decided`` has a row for each row of ``batch.facts`` (the rows read whole), in order."""

    batch: Batch
    decided: pa.Table

    @property
    def read_whole(self) -> bool:
        """Whether every row of the batch was read without a bad cell."""
        return self.batch.read_whole

    def rows(self) -> Iterator[tuple[int, int | None, FactsError | None]]:
        """Each row of the batch: its place in the batch, its place in ``decided`` (None for a bad cell) and its reading error."""
        at = 0
        for row, error in enumerate(self.batch.errors):
            if error is None:
                yield row, at, None
                at += 1
            else:
                yield row, None, error


def decide_batch(policy: Policy, batch: Batch, as_of: date, decide: DecideStep = decide_by_columns) -> Decided:
    """The decide step over a batch's rows read whole."""
    return named(batch, decide(policy, batch.facts, as_of))


def named(batch: Batch, decided: pa.Table) -> Decided:
    """A batch's decisions, their ``service`` column replaced by the names the reader gave (``#N`` counted in the whole register)."""
    if decided.num_rows != batch.facts.num_rows:
        raise AssertionError(f"the decide step gave {decided.num_rows} rows for {batch.facts.num_rows}")
    names = batch.names if batch.read_whole else batch.names.filter(pa.array([e is None for e in batch.errors], pa.bool_()))
    return Decided(batch, decided.set_column(decided.schema.get_field_index("service"), "service", names))


def _error_of(decided: pa.Table, at: int) -> dict[str, str] | None:
    if "error" not in decided.column_names:
        return None
    return decided.column("error")[at].as_py()


def _error_fields(error: FactsError | dict[str, str]) -> tuple[str, str, str, str]:
    """An error's kind, message, location and full text, from the reader's ``FactsError`` or a decide step's ``error`` cell."""
    if isinstance(error, FactsError):
        return "facts", error.message, error.location, str(error)
    return error["kind"], error["message"], error["location"], error["text"]


def summarise(summary: Summary, done: Decided, spend_fact: str | None, policy: Policy) -> list[str]:
    """Add a decided batch to the summary, column by column, as ``Summary.add`` would row by row; the messages of the rows not decided, in order."""
    part = Summary(summary.policy, summary.version, summary.digest, summary.as_of, summary.spend_fact)
    decided = done.decided
    part.services = done.batch.rows
    messages: list[str] = []
    errors = pc.is_valid(decided.column("error")) if _errors_in(decided) else None
    failed = set(np.flatnonzero(np.asarray(errors)).tolist()) if errors is not None else set()
    for _row, at, error in done.rows() if failed or not done.read_whole else ():
        found: FactsError | dict[str, str] | None = error if at is None else _error_of(decided, at) if at in failed else None
        if found is None:
            continue
        kind, _message, _location, text = _error_fields(found)
        messages.append(text)
        part.error_count += 1
        if len(part.errors) < LISTED:
            part.errors.append(text)
        if kind == "facts":
            part.facts_errors += 1
        elif kind == "conflict":
            part.rule_conflicts += 1
        else:
            part.evaluation_errors += 1
    spend = done.batch.facts.column(spend_fact) if spend_fact else pa.nulls(decided.num_rows, pa.decimal128(_MAX_PRECISION, _MONEY_SCALE))
    table = pa.table({"outcome": decided.column("outcome"), "spend": spend, "priority": decided.column("priority")})
    money = [name for name, kind in policy.result_kinds if kind == "money"]
    for name in money:
        table = table.append_column(name, decided.column(name))
    if errors is not None:
        table = table.filter(pc.invert(errors))
        kept = decided.filter(pc.invert(errors))
    else:
        kept = decided
    part.decided = table.num_rows
    if table.num_rows:
        for row in _by_outcome(table, money):
            total = part.by_outcome[row["outcome"]] = OutcomeTotal(row["outcome_count"], row["spend_sum"] or Decimal(0))
            for name in money:
                if row[f"{name}_count"]:
                    total.results[name] = row[f"{name}_sum"]
        counts = pc.value_counts(pc.drop_null(table.column("priority")))
        part.by_priority = Counter({c["values"]: c["counts"] for c in counts.to_pylist()})
        _high(part, kept, spend if errors is None else spend.filter(pc.invert(errors)), summary.least_high_spend)
        _undetermined(part, kept)
    summary.merge(part)
    return messages


def _by_outcome(table: pa.Table, money: list[str]) -> list[dict[str, Any]]:
    """Each outcome's services counted, its spend and money results summed (and counted where known), in the order outcomes first come.

    Amounts that fit in 64 bits, as a register's nearly always do, are summed
    exactly in numpy from their fixed-point words; the rest by Arrow's
    ``group_by``, which gives the same rows (and costs about 2 ms a batch
    to set up, where the words take a fraction of that).
    """
    outcome = table.column("outcome").combine_chunks()
    amounts = {name: table.column(name).combine_chunks() for name in ("spend", *money)}
    words = {name: _amount_words(values) for name, values in amounts.items()}
    if outcome.null_count or any(w is None for w in words.values()) or not pa.types.is_string(outcome.type):
        sums = [(name, "sum") for name in money] + [(name, "count") for name in money]
        return table.group_by("outcome").aggregate([("outcome", "count"), ("spend", "sum"), *sums]).to_pylist()
    encoded = pc.dictionary_encode(outcome)
    codes = np.asarray(encoded.indices)
    groups = len(encoded.dictionary)
    rows: list[dict[str, Any]] = [
        {"outcome": name, "outcome_count": int(count)} for name, count in zip(encoded.dictionary.to_pylist(), np.bincount(codes, minlength=groups), strict=True)
    ]
    for name, (value, known) in words.items():  # type: ignore[misc]
        total = np.zeros(groups, dtype=np.int64)
        np.add.at(total, codes[known], value[known])
        counted = np.bincount(codes[known], minlength=groups)
        scale = amounts[name].type.scale
        for row, whole, count in zip(rows, total.tolist(), counted.tolist(), strict=True):
            row[f"{name}_sum"] = Decimal(whole).scaleb(-scale) if count else None
            if name != "spend":
                row[f"{name}_count"] = count
    return rows


def _amount_words(values: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A decimal column's values as int64 (in units of its last place) and where they are known; None when one needs more than 64 bits, or
    when the column's sum could (a group's sum is then left to Arrow)."""
    if not pa.types.is_decimal128(values.type):
        return None
    known = np.ones(len(values), dtype=bool) if not values.null_count else np.asarray(values.is_valid())
    if not known.any():
        return np.zeros(len(values), dtype=np.int64), known
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)[2 * values.offset : 2 * (values.offset + len(values))]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high[known], low[known] >> 63):
        return None
    largest = max(int(low[known].max()), -int(low[known].min()))
    if largest * len(values) >= 1 << 62:
        return None
    return low, known


def _high(part: Summary, kept: pa.Table, spend: pa.ChunkedArray | pa.Array, least: Decimal | None = None) -> None:
    """The high-priority services of the batch: counted, and the ``LISTED`` of highest spend kept in register order (as ``_highest`` keeps them).

    ``least`` is the spend below which the summary so far would drop a
    service (``Summary.least_high_spend``): rows below it are not taken out
    of their columns at all, which after the first batches is nearly all.
    """
    high = pc.fill_null(pc.equal(kept.column("priority"), "high"), False)
    part.high_priority_count = pc.sum(high).as_py() or 0
    if not part.high_priority_count:
        return
    if least is not None:
        floor = least.quantize(Decimal(1).scaleb(-spend.type.scale), rounding=ROUND_FLOOR)  # at most the bar: a row the summary keeps is kept
        high = pc.and_(high, pc.greater_equal(pc.fill_null(spend, pa.scalar(Decimal(0), spend.type)), pa.scalar(floor, spend.type)))
    rows = pa.table({"service": kept.column("service"), "outcome": kept.column("outcome"), "spend": spend, "reasons": kept.column("reasons")}).filter(high)
    if not rows.num_rows:
        return
    if rows.num_rows > LISTED:
        order = pc.sort_indices(
            pa.table({"spend": pc.fill_null(rows.column("spend"), 0), "service": rows.column("service")}),
            sort_keys=[("spend", "descending"), ("service", "ascending")],
        )
        kept = order.slice(0, LISTED)
        rows = rows.take(pc.take(kept, pc.sort_indices(kept)))
    part.high_priority = [(r["service"] or "(unnamed)", r["outcome"], r["spend"], tuple(r["reasons"] or ())) for r in rows.to_pylist()]


def _undetermined(part: Summary, kept: pa.Table) -> None:
    """The services with needed facts: counted, the first ``LISTED`` kept, each needed fact counted across them (``elements[].cost``)."""
    needed = kept.column("needed_facts")
    lengths = pc.fill_null(pc.list_value_length(needed), 0)
    some = pc.greater(lengths, 0)
    part.undetermined_count = pc.sum(some).as_py() or 0
    if not part.undetermined_count:
        return
    first = kept.filter(some).slice(0, LISTED)
    listed = zip(first.column("service").to_pylist(), first.column("needed_facts").to_pylist(), strict=True)
    part.undetermined = [(s or "(unnamed)", tuple(n)) for s, n in listed]
    facts = pc.list_flatten(needed)
    general = pc.replace_substring_regex(facts, r"^([^\[]*)\[[^\]]*\]", r"\1[]")
    part.needed_counts = Counter({c["values"]: c["counts"] for c in pc.value_counts(general).to_pylist()})


# --- writing ---------------------------------------------------------------------------------


def output_kind(path: str) -> str:
    """The ending of a decisions file written from columns (``.csv``, ``.jsonl``, ``.json``, ``.parquet``), or a ``UsageError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in COLUMN_OUTPUTS:
        raise UsageError(f"cannot write decisions to a `{suffix or 'file without an ending'}` file; use .csv, .jsonl, .json or .parquet", "--output")
    return suffix


_PLAIN = r'^(?:[^=+\-@\t\r,"\n][^,"\n\r]*)?$'


def _text_cells(values: pa.Array | pa.ChunkedArray, quoted_only: bool = False, few: bool = True) -> pa.Array:
    """A column of text cells as ``DecisionRows`` writes them (``_csv_text``): kept as it is when its bytes show every cell plain (the
    usual case, and a cheaper look than counting distinct cells); else a column of few distinct cells (outcomes, reasons) escaped a
    distinct cell at a time; in others most are plain and kept, the rest escaped one by one."""
    values = pc.fill_null(values, "")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if _plain_bytes(values, quoted_only):
        return values
    escape = _csv_quoted if quoted_only else _csv_text
    if few and len(values) >= _FEW_DISTINCT:
        distinct = pc.unique(values)
        if len(distinct) <= len(values) // 16:
            escaped = [escape(v) for v in distinct.to_pylist()]
            if escaped == distinct.to_pylist():
                return values
            encoded = pc.dictionary_encode(values)
            return pa.array([escape(v) for v in encoded.dictionary.to_pylist()], pa.string()).take(encoded.indices)
    plain = pc.match_substring_regex(values, _PLAIN if not quoted_only else r'^[^,"\n\r]*$')
    if pc.all(plain).as_py():
        return values
    cells = values.to_pylist()
    for at, ok in enumerate(plain.to_pylist()):
        if not ok:
            cells[at] = escape(cells[at])
    return pa.array(cells, pa.string())


_FORMULA_FIRST = np.zeros(256, dtype=bool)
_FORMULA_FIRST[list(b"=+-@\t")] = True


def _plain_bytes(values: pa.Array, quoted_only: bool) -> bool:
    """Whether every cell is written as it is (``_PLAIN``), judged on the bytes: none of ``, " CR LF`` anywhere, no formula sign first.

    These signs are ASCII, so no byte of a longer UTF-8 character can be
    one of them; a column this cannot vouch for goes to the pattern.
    """
    if values.null_count or not len(values) or not pa.types.is_string(values.type) or values.buffers()[2] is None:
        return False
    offsets = _string_offsets(values)
    text = values.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()
    if b"," in text or b'"' in text or b"\n" in text or b"\r" in text:
        return False
    if quoted_only:
        return True
    starts = offsets[:-1][np.diff(offsets) > 0] - offsets[0]
    return not _FORMULA_FIRST[np.frombuffer(text, dtype=np.uint8)[starts]].any()


def _joined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A list of text per row joined with ``;`` (an empty or missing list an empty cell)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.fill_null(pc.binary_join(values, ";"), "")


def _element_cells(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    items = values.values
    pairs = pc.binary_join_element_wise(items.field("name"), items.field("outcome"), "=")
    lists = pa.ListArray.from_arrays(values.offsets, pairs, mask=values.is_null())
    return _joined(lists)


def _spend_cells(spend: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The spend as ``DecisionRows`` writes it: whole pounds without places, other amounts as a float prints them (``_num``)."""
    if isinstance(spend, pa.ChunkedArray):
        spend = spend.combine_chunks()
    if not pa.types.is_decimal(spend.type):
        return pa.array(["" if v is None else str(_num(Decimal(v))) for v in spend.to_pylist()], pa.string())
    text = pc.cast(spend, pa.string())
    places = spend.type.scale
    if places <= 0:
        return pc.fill_null(text, "")
    whole = pc.ends_with(text, "." + "0" * places)
    if pc.all(pc.fill_null(whole, True)).as_py():  # whole pounds, the usual spend: the places cut off, no pattern needed
        return pc.fill_null(pc.utf8_slice_codeunits(text, 0, -(places + 1)), "")
    text = pc.replace_substring_regex(pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1"), r"\.$", "")
    large = pc.fill_null(pc.and_(pc.greater_equal(pc.abs(spend), pa.scalar(Decimal(10**15), spend.type)), pc.match_substring(text, ".")), False)
    if pc.any(large).as_py():
        cells = text.to_pylist()
        for at, (big, value) in enumerate(zip(large.to_pylist(), spend.to_pylist(), strict=True)):
            if big:
                cells[at] = str(_num(value))
        text = pa.array(cells, pa.string())
    return pc.fill_null(text, "")


def _error_csv_row(service: str, text: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow((for_csv_cell(service), *[""] * (len(CSV_COLUMNS) - 3), "error", for_csv_cell(text)))
    return out.getvalue()


class ColumnWriter:
    """Decided batches written to ``.csv``, ``.jsonl``, ``.json`` or ``.parquet`` under a temporary name until ``close()``.

    CSV and JSON are the bytes ``DecisionWriter`` writes for the same
    decisions; CSV cells are made column by column. Parquet has the CSV's
    columns, typed (lists as lists, the spend as an amount, ``as_of`` a date),
    with ``needed_facts_exact`` and each result as a typed column.
    """

    def __init__(self, path: str, policy: Policy, as_of: date, spend_fact: str | None) -> None:
        self.path = path
        self.kind = output_kind(path)
        self.policy = policy
        self.as_of = as_of.isoformat()
        self.spend_fact = spend_fact
        self.count = 0
        self.decided = 0
        self.out = AtomicFile(path)
        self._parquet: Any = None
        info = policy.info
        self._tail = f"{_csv_quoted(self.as_of)},{_csv_text(info.version)},{_csv_quoted(info.digest)},decided"
        if self.kind == ".csv":
            self.out.file.write(",".join(CSV_COLUMNS) + "\n")
        elif self.kind == ".json":
            self.out.file.write("[")

    def write(self, done: Decided) -> None:
        if self.kind == ".csv":
            self._csv(done)
        elif self.kind == ".parquet":
            self._write_parquet(done)
        else:
            self._json(done)

    def _csv(self, done: Decided) -> None:
        decided = done.decided
        facts = done.batch.facts
        spend = _spend_cells(facts.column(self.spend_fact)) if self.spend_fact else pa.nulls(decided.num_rows, pa.string()).fill_null("")
        decided_by = decided.column("decided_by") if "decided_by" in decided.column_names else pa.nulls(decided.num_rows, pa.string())
        lines = pc.binary_join_element_wise(
            _text_cells(decided.column("service"), few=False),
            _text_cells(decided.column("outcome")),
            _text_cells(decided.column("priority")),
            _text_cells(_joined(decided.column("reasons"))),
            _text_cells(_element_cells(decided.column("elements"))),
            _text_cells(_joined(decided.column("needed_facts"))),
            _text_cells(decided_by),
            spend,
            self._tail,
            "\n",
            ",",
        )
        errors = pc.is_valid(decided.column("error")).to_pylist() if _errors_in(decided) else None
        if errors is None and done.read_whole:
            self.out.file.flush()
            self.out.file.buffer.write(_buffer_bytes(lines))  # type: ignore[attr-defined]
        else:
            text = lines.to_pylist()
            parts = []
            for row, at, error in done.rows():
                if at is not None and not (errors and errors[at]):
                    parts.append(text[at])
                    continue
                found = error if at is None else _error_of(decided, at)
                parts.append(_error_csv_row(done.batch.name(row), _error_fields(found)[3]))  # type: ignore[arg-type]
            self.out.file.write("".join(parts))
        self._count(done)

    def _count(self, done: Decided) -> None:
        self.count += done.batch.rows
        self.decided += done.decided.num_rows - _errors_in(done.decided)

    def _json(self, done: Decided) -> None:
        info = self.policy.info
        policy = {"name": info.name, "version": info.version, "digest": info.digest}
        decided = done.decided
        columns = {name: decided.column(name).to_pylist() for name in decided.column_names}
        results = [name for name, _kind in self.policy.result_kinds]
        questions = columns.get("questions") or self._questions(done)
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        parts = []
        for row, at, error in done.rows():
            found = error if at is None else (columns["error"][at] if "error" in columns else None)
            if found is not None:
                _kind, message, location, _text = _error_fields(found)
                data: dict[str, Any] = {"service": done.batch.name(row), "status": "error", "error": {"message": message, "location": location}}
            else:
                data = {
                    "service": columns["service"][at],
                    "outcome": columns["outcome"][at],
                    "priority": columns["priority"][at],
                    "reasons": columns["reasons"][at] or [],
                    "elements": columns["elements"][at] or [],
                    "needed_facts": columns["needed_facts"][at] or [],
                    "questions": questions[at] or [],
                    "needed_facts_exact": columns["exact"][at],
                    "decided_by": columns["decided_by"][at] if "decided_by" in columns else None,
                    "as_of": self.as_of,
                    "policy": policy,
                    "schema_version": DECISION_SCHEMA_VERSION,
                }
                if results:
                    data["results"] = {name: _encoded(columns[name][at]) for name in results}
                    data["results_needed"] = columns["results_needed"][at] or []
                data["status"] = "decided"
            text = dumps(data)
            if self.kind == ".json":
                parts.append(("," if self.count or parts else "") + "\n" + text)
            else:
                parts.append(text + "\n")
        self.out.file.write("".join(parts))
        self._count(done)

    def _questions(self, done: Decided) -> list[list[dict[str, str]]]:
        """The question for each needed fact, when the decide step did not give them: phrased from the declarations and the row's items' names."""
        needed = done.decided.column("needed_facts").to_pylist()
        found: list[list[dict[str, str]]] = []
        for at, facts in enumerate(needed):
            row = done.batch.facts.slice(at, 1).to_pylist()[0] if facts else {}
            found.append([{"fact": f, "question": self.policy.question(f, row)} for f in facts or ()])
        return found

    def _write_parquet(self, done: Decided) -> None:
        import pyarrow.parquet as pq

        table = self._parquet_table(done)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.out.file.buffer, table.schema)  # type: ignore[attr-defined]
        self._parquet.write_table(table)
        self._count(done)

    def _parquet_table(self, done: Decided) -> pa.Table:
        decided = done.decided
        rows = list(done.rows())
        take = pa.array([at for _row, at, _error in rows], pa.int64())
        errors = [error if at is None else _error_of(decided, at) for _row, at, error in rows]
        status = pa.array(["decided" if e is None else "error" for e in errors], pa.string())
        message = pa.array([None if e is None else _error_fields(e)[3] for e in errors], pa.string())
        bad = pa.array([e is not None for e in errors])

        def column(name: str, typ: pa.DataType) -> pa.Array:
            values = decided.column(name).combine_chunks() if name in decided.column_names else pa.nulls(decided.num_rows, typ)
            return pc.if_else(bad, pa.scalar(None, typ), values.take(take))

        spend_type = pa.decimal128(_MAX_PRECISION, _MONEY_SCALE)
        spend = done.batch.facts.column(self.spend_fact).combine_chunks().take(take) if self.spend_fact else pa.nulls(len(rows), spend_type)
        if pa.types.is_decimal(spend.type) and spend.type != spend_type:
            spend = pa.array([None if v is None else Decimal(v) for v in spend.to_pylist()], pa.decimal128(_MAX_PRECISION, max(spend.type.scale, 2)))
        info = self.policy.info
        count = len(rows)
        arrays = {
            "service": done.batch.names,
            "outcome": column("outcome", pa.string()),
            "priority": column("priority", pa.string()),
            "reasons": column("reasons", pa.list_(pa.string())),
            "elements": column("elements", _ELEMENTS),
            "needed_facts": column("needed_facts", pa.list_(pa.string())),
            "needed_facts_exact": column("exact", pa.bool_()),
            "decided_by": column("decided_by", pa.string()),
            "annual_spend": pc.if_else(bad, pa.scalar(None, spend.type), spend),
            "as_of": pa.array([date.fromisoformat(self.as_of)] * count, pa.date32()),
            "policy_version": pa.array([info.version] * count, pa.string()),
            "policy_digest": pa.array([info.digest] * count, pa.string()),
            "status": status,
            "message": message,
        }
        for name, kind in self.policy.result_kinds:
            arrays.setdefault(name, column(name, _result_type(kind)))
        if self.policy.result_kinds:
            arrays.setdefault("results_needed", column("results_needed", pa.list_(pa.string())))
        return pa.table(arrays)

    def close(self) -> None:
        """Finish the file and give it its final name."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            elif self.kind == ".parquet":
                self._empty_parquet()
            if self.kind == ".json":
                self.out.file.write("\n]\n")
        except OSError as error:
            self.discard()
            raise UsageError(f"cannot write this file ({error.strerror}); nothing was written", self.path) from None
        self.out.commit()

    def _empty_parquet(self) -> None:
        import pyarrow.parquet as pq

        empty = Batch(pa.table({}), pa.array([], pa.string()), [], 0)
        schema = self._parquet_table(Decided(empty, output_schema(self.policy).empty_table())).schema
        pq.ParquetWriter(self.out.file.buffer, schema).close()  # type: ignore[attr-defined]

    def discard(self) -> None:
        """Drop what was written: the final name keeps whatever it held before."""
        self.out.discard()


def _errors_in(decided: pa.Table) -> int:
    return decided.num_rows - decided.column("error").null_count if "error" in decided.column_names else 0


def _buffer_bytes(lines: pa.Array) -> memoryview:
    """A column of lines as one text's UTF-8 bytes, from its data buffer: the lines of a column without nulls are its bytes end to end."""
    if not len(lines):
        return memoryview(b"")
    offsets = lines.buffers()[1]
    data = lines.buffers()[2]
    start, end = (int(x) for x in pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets], offset=lines.offset).to_numpy()[[0, -1]])
    return memoryview(data)[start:end]


def _encoded(value: Any) -> Any:
    """A result cell as the JSON decision encodes it: money with its two places, dates ISO, others as they are."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- a whole register ------------------------------------------------------------------------


class ColumnRegister:
    """A register to read in columns, with what a progress bar and an interrupted run need: its size, the bytes and services read so far."""

    def __init__(self, path: str, policy: Policy, rows: int = BATCH_ROWS) -> None:
        self.path = path
        self.policy = policy
        self.rows = rows
        self.size = Path(path).stat().st_size if Path(path).is_file() else 0
        self.count = 0
        self.finished = False

    @property
    def bytes_read(self) -> int:
        return self.size if self.finished else min(self.size, self.size * self.count // max(self.count + 1, 1))

    def __iter__(self) -> Iterator[Batch]:
        for batch in read_batches(self.path, self.policy, self.rows):
            self.count += batch.rows
            yield batch
        self.finished = True


#: Decided batches in register order, from the batches read: here one after the other, or on a cluster several at once.
Decider = Callable[[Iterator[Batch]], Iterator[Decided]]


def decided_here(policy: Policy, as_of: date, decide: DecideStep = decide_by_columns) -> Decider:
    """Each batch decided in this process as it is read."""

    def run(batches: Iterator[Batch]) -> Iterator[Decided]:
        for batch in batches:
            yield decide_batch(policy, batch, as_of, decide)

    return run


def run_columns(
    policy: Policy,
    register: ColumnRegister,
    as_of: date,
    *,
    writer: ColumnWriter | None,
    spend_fact: str | None,
    progress: Any = None,
    on_error: Callable[[str], None] | None = None,
    decider: Decider | None = None,
) -> Summary:
    """Decide a register a batch at a time, write each batch's decisions and add it to the summary, as ``run_register`` does a row at a time."""
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, as_of.isoformat(), spend_fact)
    batches = read_ahead(iter(register))
    try:
        _run(policy, summary, (decider or decided_here(policy, as_of))(batches), writer, spend_fact, progress, on_error)
    finally:
        batches.close()
    return summary.finish()


def _run(
    policy: Policy,
    summary: Summary,
    decided: Iterator[Decided],
    writer: ColumnWriter | None,
    spend_fact: str | None,
    progress: Any,
    on_error: Callable[[str], None] | None,
) -> None:
    for done in decided:
        messages = summarise(summary, done, spend_fact, policy)
        if writer is not None:
            writer.write(done)
        if on_error is not None:
            for message in messages:
                on_error(message)
        if progress is not None:
            progress.update(summary.services)


#: Batches read ahead of the one being decided: one is read while another is decided and written, and memory holds at most this many more.
READ_AHEAD = 2


_Item = TypeVar("_Item")


def read_ahead(batches: Iterator[_Item], depth: int = READ_AHEAD) -> Iterator[_Item]:
    """The batches, read by a thread of their own while the caller decides and writes the ones before.

    Most of the time of reading and deciding a batch is spent in Arrow's
    kernels, which let go of the interpreter, so on two cores the reading of
    the next batch and the work on this one overlap. A register run has two
    such threads: one parses the file's cells, one types them
    (``read_batches``). The reader's exceptions (a bad file, a usage error)
    are raised here, in order, after the batches read before them; closing
    the generator (an interrupt, an error while writing) stops the reader at
    its next batch and closes what it reads.
    """
    import queue
    import threading

    handed: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    break
            else:
                put(("end", None))
        except BaseException as error:  # handed to the caller's thread, which raises it
            put(("error", error))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="register reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = handed.get()
            if kind == "batch":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        reader.join()


def reads_in_columns(facts: str, output: str | None, with_trace: bool = False) -> bool:
    """Whether ``evaluate --output`` reads and writes this register in columns (decided by ``decide_by_columns``): a CSV, JSON Lines or
    Parquet register, or a Parquet decisions file, unless the decisions are to carry their traces (which only the row path records).

    The row path keeps YAML, JSON and workbook registers, whose readers give
    Python values, not text in columns. Measured on 1,000,000 generated
    Haringey rows (benchmarks/README.md) the columns path reads, decides and
    writes several times faster than the row path in flat memory: cells of a
    column with few distinct values are read once each by ``convert``, the
    others by kernels, and batches of ``BATCH_ROWS`` rows are held at a time.
    """
    if with_trace:
        return False
    return Path(facts).suffix.lower() in COLUMN_REGISTERS or Path(output or "").suffix.lower() == ".parquet"
