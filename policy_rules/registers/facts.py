"""Facts files: reading YAML, JSON, CSV and Excel (.xlsx) registers into services, each read by the facts reader (``engine.facts``).

What people type in spreadsheets is accepted where it is unambiguous:
``yes``/``no``/``true``/``false``, money as ``1200000`` or ``£1,200,000``,
percentages as ``5%``, ISO dates. An empty cell, ``null`` or ``unknown`` means
the fact is missing. A CSV file's cells may be separated by commas, semicolons
or tabs (the header row says which); an Excel workbook's first sheet is read
as a CSV file is, its cells as Excel holds them. Everything else is a ``FactsError`` naming the file, the
service and the fact, with the expected form or the nearest declared name.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import json
import math
import os
import re
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NoReturn

import attrs
import yaml

from policy_rules.engine.facts import _DATE, _MAX_DIGITS, _shown
from policy_rules.errors import FactsError, did_you_mean, nearest

MAX_FACTS_FILE_BYTES = 200_000_000
MAX_YAML_FILE_BYTES = 5_000_000
MAX_YAML_ALIASES = 1_000
#: How many more values the aliases of a YAML file may add when expanded ("billion laughs").
MAX_YAML_EXPANSION = 1_000_000


@attrs.frozen
class ServiceFacts:
    """One service's raw facts and where they came from (the file and the service's place in it)."""

    raw: Mapping[str, Any]
    path: str
    index: int

    @property
    def label(self) -> str:
        return f"#{self.index + 1}"


class _Strict:
    """Safe YAML that refuses duplicate keys, alias bombs and numbers too long to read."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()  # type: ignore[attr-defined]
        if node is None:
            return None
        if self.may_repeat:
            _check_expansion(node)
        _join_split_amounts(node)
        return self.construct_document(node)  # type: ignore[attr-defined]

    #: Whether the text may hold aliases at all (an ``&anchor`` and a ``*name``).
    may_repeat = True

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`, which case files use to start from a shared service
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[attr-defined]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key `{key}` appears twice in this mapping", key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = True
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StrictLoader(_Strict, yaml.SafeLoader):
    """The strict loader in Python: the same messages everywhere."""


#: Large files are read with libyaml where PyYAML has it: the same checks, much faster.
_FAST_LOADER: type | None = type("_FastStrictLoader", (_Strict, yaml.CSafeLoader), {}) if getattr(yaml, "__with_libyaml__", False) else None
_FAST_FROM_BYTES = 1_000_000


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    """A YAML date, or its text when it is not in the calendar (2020-02-30), for the fact to report."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


def _int(loader: Any, node: yaml.ScalarNode) -> Any:
    """A YAML whole number, unless it is too long to be one a facts file means."""
    digits = sum(ch.isdigit() for ch in node.value)
    if digits > _MAX_DIGITS:
        raise yaml.constructor.ConstructorError(None, None, f"a number of {digits} digits is too long for a facts file", node.start_mark)
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"`{node.value[:60]}` is not a whole number", node.start_mark) from None


for _loader in (_StrictLoader, _FAST_LOADER):
    if _loader is not None:
        _loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
        _loader.add_constructor("tag:yaml.org,2002:int", _int)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse YAML whose aliases expand it far beyond its size, or that contains itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    edges = 0
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            edges += len(children)
            if edges - len(sizes) > MAX_YAML_ALIASES:  # each alias is one more way into a value already there
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_YAML_ALIASES} aliases (`*name`); facts files may not repeat data this way", node.start_mark
                )
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > len(sizes) + MAX_YAML_EXPANSION:
                message = f"the aliases (`*name`) here expand to more than {MAX_YAML_EXPANSION:,} values; facts files may not repeat data this way"
                raise yaml.constructor.ConstructorError(None, None, message, node.start_mark)
            continue
        if key in sizes:
            continue
        if key in active:
            raise yaml.constructor.ConstructorError(None, None, "this value contains itself through an alias (`*name`)", node.start_mark)
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


_AMOUNT_START = re.compile(r"-?£?\s?-?\d{1,3}")
_AMOUNT_GROUP = re.compile(r"\d{3}")
_AMOUNT_LAST_GROUP = re.compile(r"\d{3}(\.\d+)?")


def _join_split_amounts(root: yaml.Node) -> None:
    """Join back an amount that a flow mapping split at its commas: ``{cost: £1,260,000}`` is YAML for ``cost: £1`` and keys ``260`` and ``000``.

    Only pieces written against each other (a comma and no space between
    them), each piece after the first three digits with no value: a key
    written after a comma and a space is a key, as YAML means.
    """
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode) and node.flow_style:
            node.value = _joined_pairs(node.value)
        stack.extend(_children(node))


def _plain(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and not node.style


def _joined_pairs(pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[tuple[yaml.Node, yaml.Node]]:
    joined: list[tuple[yaml.Node, yaml.Node]] = []
    at = 0
    while at < len(pairs):
        key, value = pairs[at]
        at += 1
        if _plain(value) and _AMOUNT_START.fullmatch(value.value):
            text, end = value.value, value.end_mark
            while at < len(pairs):
                piece, empty = pairs[at]
                if not (_plain(piece) and _plain(empty) and empty.value == "" and piece.start_mark.index == end.index + 1):
                    break
                if not _AMOUNT_GROUP.fullmatch(piece.value) and not (_AMOUNT_LAST_GROUP.fullmatch(piece.value) and "." not in text):
                    break
                text, end = f"{text},{piece.value}", piece.end_mark
                at += 1
            if text != value.value:
                value = yaml.ScalarNode("tag:yaml.org,2002:str", text, value.start_mark, end)
        joined.append((key, value))
    return joined


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key `{key}` appears twice in one object")
        result[key] = value
    return result


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a facts file can hold")


def _json_int(text: str) -> int:
    digits = sum(ch.isdigit() for ch in text)
    if digits > _MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits is too long for a facts file")
    return int(text)


def _check_unicode(loaded: Any, path: str) -> None:
    """Refuse text that cannot be written out again: a lone UTF-16 surrogate such as ``"\\ud800"``."""
    stack = [loaded]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                code = ord(value[error.start])
                message = f"a text in this file holds \\u{code:04x}, half of a UTF-16 surrogate pair, which is not a character; write the character itself"
                raise FactsError(message, path=path) from None
        elif isinstance(value, Mapping):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


@attrs.frozen
class FactsFile:
    """The services of one facts file; ``single`` when it held one mapping rather than a list; ``as_of`` the date it carries, if any."""

    path: str
    services: tuple[ServiceFacts, ...]
    single: bool
    as_of: date | None = None


#: Bytes read from a facts file at a time when it is streamed.
READ_CHUNK = 1 << 20
#: The most text one service may take in a streamed file: a CSV line, a JSON Lines line, an element of a JSON array.
MAX_SERVICE_CHARS = 20_000_000
_JSON_SPACE = " \t\n\r"


def _json_decoder() -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=_json_pairs, parse_constant=_json_constant, parse_int=_json_int)


def _too_large(size: str, limit: int, yaml_limit: bool, path: str) -> FactsError:
    if yaml_limit:
        return FactsError(
            f"the file is {size}, larger than the limit of {limit:,} for YAML (reading YAML is slow); give a large register as CSV or JSON",
            path=path,
        )
    return FactsError(f"the file is {size}, larger than the limit of {limit:,}", path=path)


def _open_regular(p: Path, path: str) -> tuple[IO[bytes], os.stat_result]:
    """A regular file opened for reading, refused before reading when it is anything else (a device or a FIFO is read for ever)."""
    import stat as st

    try:
        info = p.stat()
    except FileNotFoundError:
        raise FactsError("there is no such file; check the path", path=path) from None
    except OSError as error:
        raise FactsError(f"this file cannot be read ({error.strerror or error}); check the path and its permissions", path=path) from None
    if st.S_ISDIR(info.st_mode):
        raise FactsError("this is a folder; give a YAML, JSON or CSV facts file", path=path)
    if not st.S_ISREG(info.st_mode):
        raise FactsError("this is not a regular file (a device, a pipe or a socket); give a YAML, JSON or CSV facts file", path=path)
    try:
        return p.open("rb"), info
    except OSError as error:
        raise FactsError(f"this file cannot be read ({error.strerror or error}); check its permissions", path=path) from None


class _Text:
    """The UTF-8 text of an open file, decoded a chunk at a time, with the checks every facts file gets.

    It counts the bytes read (for a progress bar) and stops at ``limit`` bytes
    when one is set: the limit applies to what is read, not only to what
    ``stat`` said, since a file can grow while it is read.
    """

    def __init__(self, file: IO[bytes], path: str, *, size: int, limit: int | None, yaml_limit: bool, binary_check: bool) -> None:
        self.file = file
        self.path = path
        self.size = size
        self.limit = limit
        self.yaml_limit = yaml_limit
        self.binary_check = binary_check
        self.bytes_read = 0
        self.finished = False

    def _read(self, first: bool) -> bytes:
        try:
            data = self.file.read(READ_CHUNK)
        except OSError as error:
            raise FactsError(f"this file cannot be read ({error.strerror or error}); check its permissions", path=self.path) from None
        self.bytes_read += len(data)
        if self.limit is not None and self.bytes_read > self.limit:
            raise _too_large(f"more than {self.limit:,} bytes", self.limit, self.yaml_limit, self.path)
        if first and self.binary_check and b"\x00" in data[:8192]:
            raise FactsError("this is not a text file; give a YAML, JSON or CSV facts file", path=self.path)
        return data

    def chunks(self) -> Iterator[str]:
        """The text in pieces; an empty (or blank) file is an error, found before any piece is given."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        decoded = 0  # bytes given to the decoder, after the byte order mark
        blank: list[str] = []
        first = True
        while True:
            data = self._read(first)
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[3:]
            first = False
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:
                at = decoded - pending + error.start
                raise _not_utf8(at, self.path) from None
            decoded += len(data)
            if blank is not None:
                if not text.strip():
                    if not data:
                        raise FactsError("the file is empty; it should hold one service or a list of services", path=self.path)
                    blank.append(text)
                    continue
                yield from blank
                blank = None  # type: ignore[assignment]
            if text:
                yield text
            if not data:
                self.finished = True
                return


def _lines(chunks: Iterable[str], path: str, *, nul_is_error: bool) -> Iterator[str]:
    """The lines of a text, each with its ``\\n``; a line is ended by ``\\n`` alone, as a CSV reader given a string counts them."""
    rest = ""
    number = 0
    for chunk in chunks:
        parts = (rest + chunk).split("\n")
        rest = parts.pop()
        if nul_is_error and "\x00" in chunk:
            for offset, part in enumerate(parts):
                if "\x00" in part:
                    _nul(number + offset + 1, path)
        for part in parts:
            yield part + "\n"
        number += len(parts)
        if len(rest) > MAX_SERVICE_CHARS:
            raise _too_long(number + 1, path)
    if rest:
        if nul_is_error and "\x00" in rest:
            _nul(number + 1, path)
        yield rest


def _nul(line: int, path: str) -> NoReturn:
    raise FactsError(f"line {line}: this line holds a NUL byte, which a CSV file cannot; save the file again as CSV text", path=path)


class FactsStream:
    """The services of a facts file, read as they are decided: memory stays flat however long the register.

    CSV, JSON Lines (``.jsonl``) and a JSON array are read a service at a time;
    a malformed file is still an error at its line, found when the reading
    reaches it. YAML (at most 5 MB) and a JSON file that is not an array (one
    service, or a mapping with a ``services:`` list) are read whole.
    ``single`` says the file held one service rather than a list; ``finished``
    that every service has been read, so ``count`` is the whole register.
    """

    def __init__(self, path: str, *, limit: int | None = None, reads_as_of: bool = False, known: Collection[str] | None = None) -> None:
        self.path = path
        self.reads_as_of = reads_as_of
        self._known = known
        p = Path(path)
        self.kind = p.suffix.lower()
        self.single = False
        self.as_of: date | None = None
        self.count = 0
        self._file, info = _open_regular(p, path)
        self.size = info.st_size
        streamed = self.kind in (".csv", ".jsonl", ".json", ".xlsx")
        self._limit = limit if streamed else MAX_YAML_FILE_BYTES
        if self._limit is not None and info.st_size > self._limit:
            self._file.close()
            raise _too_large(f"{info.st_size:,} bytes", self._limit, not streamed, path)
        self._text = _Text(self._file, path, size=info.st_size, limit=self._limit, yaml_limit=not streamed, binary_check=self.kind != ".csv")
        self._pieces: CsvRegister | None = None

    @property
    def bytes_read(self) -> int:
        return self._text.bytes_read if self._pieces is None else self._pieces.bytes_read

    @property
    def finished(self) -> bool:
        return self._text.finished if self._pieces is None else self._pieces.finished

    def csv_pieces(self) -> CsvRegister | None:
        """A CSV register not yet read, to be read as pieces of lines (by worker processes) instead of a service at a time; else ``None``."""
        if self.kind != ".csv" or self._text.bytes_read:
            return None
        if self._pieces is None:
            self._pieces = CsvRegister(self._file, self.path, self.size, self._known)
        return self._pieces

    def __iter__(self) -> Iterator[ServiceFacts]:
        path = self.path
        chunks = self._text.chunks()
        if self.kind == ".xlsx":
            services = _services_from_xlsx(self._file, path, self._known)
            self._text.bytes_read, self._text.finished = self.size, True  # a workbook is read whole by openpyxl
        elif self.kind == ".csv":
            services = _services_from_csv(_lines(chunks, path, nul_is_error=True), path, self._known)
        elif self.kind == ".jsonl":
            services = _services_from_jsonl(_lines(chunks, path, nul_is_error=False), path)
        elif self.kind == ".json":
            first = next(chunks)
            if first.lstrip()[:1] == "[":
                services = _services_from_json_array(itertools.chain([first], chunks), path)
            else:
                self._text.limit = self._limit if self._limit is not None else MAX_FACTS_FILE_BYTES
                if self.size > self._text.limit:
                    raise _too_large(f"{self.size:,} bytes", self._text.limit, False, path)
                services = self._whole(_load_json("".join(itertools.chain([first], chunks)), path))
        else:
            services = self._whole(_load_yaml("".join(chunks), path))
        for service in services:
            self.count += 1
            yield service

    def _whole(self, loaded: Any) -> Iterator[ServiceFacts]:
        _check_unicode(loaded, self.path)
        self.single = isinstance(loaded, Mapping) and "services" not in loaded
        if isinstance(loaded, Mapping) and "services" in loaded and "as_of" in loaded:
            if not self.reads_as_of:  # a register is decided as it is read, at a date fixed before its first service
                message = "this file gives `as_of`, which a register decided with --output does not read; remove it and give the date as --as-of"
                raise FactsError(message, path=self.path)
            self.as_of = read_as_of(loaded["as_of"], path=self.path)
        return iter(_services(loaded, self.path))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FactsStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def read_facts_file(path: str, known: Collection[str] | None = None) -> FactsFile:
    """Every service in a YAML, JSON, JSON Lines, CSV or .xlsx facts file, in file order, held in memory (at most 200 MB of file).

    ``known`` are the policy's fact names: a CSV or workbook column named otherwise is one error for the file, not one for each row.
    """
    with FactsStream(path, limit=MAX_FACTS_FILE_BYTES, reads_as_of=True, known=known) as stream:
        services = tuple(stream)
    return FactsFile(path, services, stream.single, stream.as_of)


def read_as_of(value: Any, *, path: str, where: str = "the top-level `as_of`") -> date:
    """The date a file says its services are decided as at: a YAML date, or the text of one in JSON."""
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise FactsError(f"{where} is {_shown(value)}; write a date in the calendar as YYYY-MM-DD", path=path)


def read_document(path: str) -> Any:
    """The whole of a YAML or JSON file that is not a facts file (a case file), read with a facts file's limits and checks."""
    p = Path(path)
    file, info = _open_regular(p, path)
    with file:
        if info.st_size > MAX_YAML_FILE_BYTES:
            raise _too_large(f"{info.st_size:,} bytes", MAX_YAML_FILE_BYTES, False, path)
        text = "".join(_Text(file, path, size=info.st_size, limit=MAX_YAML_FILE_BYTES, yaml_limit=False, binary_check=True).chunks())
    loaded = _load_json(text, path) if p.suffix.lower() == ".json" else _load_yaml(text, path)
    _check_unicode(loaded, path)
    return loaded


def _load_json(text: str, path: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_json_pairs, parse_constant=_json_constant, parse_int=_json_int)
    except json.JSONDecodeError as error:
        raise FactsError(f"line {error.lineno}, column {error.colno}: this is not valid JSON ({error.msg})", path=path) from None
    except ValueError as error:
        raise FactsError(str(error), path=path) from None
    except RecursionError:
        raise FactsError("the JSON is nested too deeply", path=path) from None


def _load_yaml(text: str, path: str) -> Any:
    try:
        loader = _FAST_LOADER if _FAST_LOADER is not None and len(text) > _FAST_FROM_BYTES else _StrictLoader
        reader = loader(text)
        reader.may_repeat = "&" in text and "*" in text
        try:
            return reader.get_single_data()  # a SafeLoader subclass
        finally:
            reader.dispose()
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        raise FactsError(f"line {line}, column {column}: this is not valid YAML (unacceptable character {character}: {error.reason})", path=path) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or ""
        if problem.startswith("but ") and error.context:
            problem = f"{error.context}, {problem}"
        raise FactsError(f"{where}this is not valid YAML ({problem})", path=path) from None
    except yaml.YAMLError as error:
        raise FactsError(f"this is not valid YAML ({error})", path=path) from None
    except (ValueError, TypeError, OverflowError) as error:  # a tagged value that cannot be built, such as `!!int abc`
        raise FactsError(f"this is not valid YAML ({error})", path=path) from None
    except RecursionError:
        raise FactsError("the YAML is nested too deeply", path=path) from None


def _services(loaded: Any, path: str) -> list[ServiceFacts]:
    if isinstance(loaded, Mapping) and "services" in loaded and set(loaded) <= {"services", "as_of"}:
        loaded = loaded["services"]
        if not isinstance(loaded, list):
            raise FactsError("`services:` must be a list of services", path=path)
    if isinstance(loaded, Mapping):
        return [ServiceFacts(loaded, path, 0)]
    if isinstance(loaded, list):
        if not loaded:
            raise FactsError("the list of services is empty", path=path)
        return [ServiceFacts(item, path, i) for i, item in enumerate(loaded)]
    raise FactsError(f"the file holds {_shown(loaded)}; it should hold one service (a mapping of facts) or a list of services", path=path)


def _services_from_csv(lines: Iterable[str], path: str, known: Collection[str] | None = None) -> Iterator[ServiceFacts]:
    """Every row of a CSV register, read strictly: a malformed file is an error at its line, never a guess.

    A lenient reader turns an unclosed quote into one cell holding every
    later row, and a short or long row into shifted columns; the run would
    then report fewer services as all decided. So every row must have as many
    cells as the header, quotes must close, and NUL bytes are refused (by
    ``_lines``). Rows are given as they are read, so an error may come after
    earlier rows were decided; the caller then discards what it wrote.
    """
    lines = iter(lines)
    first = next(lines, "")
    delimiter = _delimiter(first)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter, strict=True)
    header = _csv_header(reader, path)
    check_columns(header, known, path)
    rows = CsvRows(reader, header, path, base=0, delimiter=delimiter)
    yield from rows
    if not rows.index:
        raise FactsError("the CSV file has a header row but no services", path=path)


#: The characters a CSV file's cells may be separated by: a comma, or a semicolon or tab where Excel's region uses a decimal comma.
CSV_DELIMITERS = ",;\t"


def _delimiter(header_line: str) -> str:
    """The character that separates the cells of a CSV file, from its header row (fact names, which hold none of them); a comma if it cannot tell."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","


def check_columns(header: Iterable[str], known: Collection[str] | None, path: str) -> None:
    """One error for the header row's columns that are not facts of the policy (each with the fact it most resembles), rather than one a row."""
    if known is None:
        return
    unknown = [h for h in header if h and h not in known]
    if not unknown:
        return
    if len(unknown) == 1:
        message = f"the column `{unknown[0]}` in the header row is not a fact of this policy{did_you_mean(unknown[0], known)}"
    else:
        shown = ", ".join(f"`{h}`" + (f" (did you mean `{m}`?)" if (m := nearest(h, known)) else "") for h in unknown)
        message = f"the columns {shown} in the header row are not facts of this policy; rename each to a fact's name or remove it"
    raise FactsError(message, path=path)


_NOT_A_WORKBOOK = "this is not an Excel workbook (.xlsx); save the register from Excel as .xlsx, or as CSV with a .csv name"


def _services_from_xlsx(file: IO[bytes], path: str, known: Collection[str] | None) -> Iterator[ServiceFacts]:
    """The first sheet of an Excel workbook as a register: its first row that holds anything is the header of fact names, each later row a service.

    Read with openpyxl (read-only, the values Excel last worked out for
    formulas): amounts and whole numbers come as numbers, dates as dates,
    a cell formatted as a percentage as that percentage; empty cells are
    missing facts, as empty CSV cells are.
    """
    import xml.etree.ElementTree as ElementTree
    import zipfile

    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError:
        raise FactsError("reading an Excel workbook needs openpyxl (pip install openpyxl); or save the register as CSV", path=path) from None
    unreadable = (zipfile.BadZipFile, InvalidFileException, ElementTree.ParseError, KeyError, ValueError, TypeError, EOFError, OSError)
    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except unreadable:
        raise FactsError(_NOT_A_WORKBOOK, path=path) from None
    header: tuple[str, ...] | None = None
    index = 0
    try:
        if not book.worksheets:
            raise FactsError("this workbook has no sheet; the register is read from its first sheet", path=path)
        for number, cells in enumerate(book.worksheets[0].iter_rows(), start=1):
            values = [_cell_value(cell) for cell in cells]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if header is None:
                names = [str(v).strip() if v is not None else "" for v in values]
                while names and not names[-1]:
                    names.pop()
                header = tuple(names)
                _refuse_repeated(header, path)
                check_columns(header, known, path)
                continue
            beyond = next((at for at in range(len(header), len(values)) if values[at] is not None), None)
            if beyond is not None:
                column = openpyxl.utils.get_column_letter(beyond + 1)
                raise FactsError(f"row {number}: cell {column}{number} holds a value, but its column has no name in the header row", path=path)
            yield ServiceFacts({h: v for h, v in zip(header, values, strict=False) if h and v is not None}, path, index)
            index += 1
    except unreadable:
        raise FactsError(_NOT_A_WORKBOOK, path=path) from None
    finally:
        book.close()
    if header is None:
        raise FactsError("the first sheet of this workbook is empty; it should hold a header row of fact names and a row for each service", path=path)
    if not index:
        raise FactsError("the first sheet of this workbook has a header row but no services", path=path)


def _cell_value(cell: Any) -> Any:
    """A cell's value as a facts file gives it: a number formatted as a percentage is written with its sign (0.05 shown as 5% is ``5%``)."""
    value = getattr(cell, "value", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (getattr(cell, "number_format", "") or ""):
        if isinstance(value, float) and not math.isfinite(value):
            return value
        return f"{Decimal(repr(value)) * 100}%"
    return value


def _refuse_repeated(header: tuple[str, ...], path: str) -> None:
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise FactsError(f"the column `{duplicates[0]}` appears twice in the header row", path=path)


def _csv_header(reader: Any, path: str) -> tuple[str, ...]:
    """The names of a CSV register's columns, from the reader's next row: distinct, each stripped of spaces."""
    try:
        header = tuple(h.strip() for h in next(reader))
    except StopIteration:
        raise FactsError("this is not a CSV file with a header row", path=path) from None
    except csv.Error as error:
        raise _csv_error(error, 0, reader.line_num, path) from None
    _refuse_repeated(header, path)
    return header


def _csv_error(error: csv.Error, line: int, at: int, path: str) -> FactsError:
    """What the CSV reader found wrong, at its line: ``line`` is the last line before the row it was reading, ``at`` the line it stopped on."""
    if "unexpected end of data" in str(error):
        message = f'line {line + 1}: a quote (") opens a cell here and is never closed, so every later row would be read into that cell; close the quote'
    else:
        message = f'line {at}: this CSV cannot be read ({error}); a cell with a comma or a quote in it must be quoted as a whole, with quotes doubled ("")'
    return FactsError(message, path=path)


class CsvRows:
    """The services in the rows of a CSV register after its header, read strictly, counting the rows and services read.

    ``base`` is the number of lines before the reader's first, ``row`` the
    rows before it (the header's included), ``index`` the services before it;
    so a piece of a register read elsewhere (``CsvPiece``) gives the lines,
    rows and services their numbers in the whole file. Rows of spaces are
    skipped. When the text read is not the end of the file (``last`` false),
    a row still open at its end (a quoted cell going on past the cut) is not
    an error: ``open_end`` says it, and the row starts after line ``line``.
    """

    def __init__(
        self, reader: Any, header: tuple[str, ...], path: str, *, base: int, row: int = 1, index: int = 0, last: bool = True, delimiter: str = ","
    ) -> None:
        self.reader = reader
        self.delimiter = delimiter
        self.header = header
        self.path = path
        self.base = base
        self.row = row
        self.index = index
        self.last = last
        self.open_end = False
        self.line = base

    def __iter__(self) -> Iterator[ServiceFacts]:
        path = self.path
        for raw, index in self.raw():
            yield ServiceFacts(raw, path, index)

    def raw(self) -> Iterator[tuple[dict[str, str], int]]:
        """Each service's cells by column, and its place among the register's services."""
        reader, path, base = self.reader, self.path, self.base
        header = self.header
        width = len(header)
        named = [(i, h) for i, h in enumerate(header) if h]
        names = header if len(named) == width else None  # every column named: a row is zipped with the header, in C
        line = base + reader.line_num  # the last line read so far; a row starts on the next
        try:
            for row in reader:
                self.row += 1
                if len(row) != width:
                    if not "".join(row).strip():
                        line = base + reader.line_num
                        continue
                    cells = f"{len(row)} cell{'s' * (len(row) != 1)}"
                    amount = _split_amount(row) if len(row) > width and self.delimiter == "," else None
                    how = f': the commas of `{amount}` split it into cells; write it in double quotes ("{amount}")' if amount else ""
                    how += f" or without commas ({amount.replace(',', '')})" if amount else ""
                    raise FactsError(f"line {line + 1}: row {self.row} has {cells} but the header has {width} columns{how}", path=path)
                first = row[0] if row else ""
                if (not first or first.isspace()) and not "".join(row).strip():
                    line = base + reader.line_num
                    continue
                yield dict(zip(names, row, strict=True)) if names is not None else {h: row[i] for i, h in named}, self.index
                self.index += 1
                line = base + reader.line_num
        except csv.Error as error:
            if not self.last and "unexpected end of data" in str(error):
                self.open_end, self.line = True, line
                return
            raise _csv_error(error, line, base + reader.line_num, path) from None


def _split_amount(row: list[str]) -> str | None:
    """``£1,200,000`` when a row's cells hold it split at its commas (``£1``, ``200``, ``000``): the amount a too-long row most likely holds."""
    for at, cell in enumerate(row):
        if not _AMOUNT_START.fullmatch(cell.strip()):
            continue
        end = at + 1
        while end < len(row) and _AMOUNT_GROUP.fullmatch(row[end]):
            end += 1
        if end < len(row) and _AMOUNT_LAST_GROUP.fullmatch(row[end]) and "." in row[end]:
            end += 1
        if end > at + 1:
            return ",".join([cell.strip(), *row[at + 1 : end]])
    return None


#: Lines of a CSV register in a piece handed to a worker (more when a quoted cell seems to go on past them).
PIECE_LINES = 2000
#: The longest line a piece is cut at: beyond it the line has more than ``MAX_SERVICE_CHARS`` characters, whatever they are.
_PIECE_LINE_BYTES = 4 * MAX_SERVICE_CHARS + 4


@attrs.frozen
class CsvPiece:
    """Whole lines of a CSV register after its header, and where they stand in the file.

    ``offset`` is the bytes before the piece (after a byte order mark), ``line``
    the lines before it; ``row`` and ``index`` the rows (the header's
    included) and services before it, which the cutting process can only
    guess (one row and one service a line), so the reader of the pieces
    checks them against what the pieces before really held. ``last`` says the
    piece ends the file.
    """

    data: bytes
    offset: int
    line: int
    row: int
    index: int
    last: bool
    #: The rows the piece holds if each of its lines is one.
    rows_guessed: int
    #: What separates the cells (found from the header row).
    delimiter: str = ","

    def rest_joined(self, lines: int, after: CsvPiece | None, row: int, index: int) -> CsvPiece:
        """What follows the first ``lines`` lines of this piece, joined to the next piece (if any): a row went on past the cut between them.

        ``row`` and ``index`` are the rows and services before the rest.
        """
        at = 0
        for _ in range(lines):
            at = self.data.index(b"\n", at) + 1
        more, last, guessed = (after.data, after.last, after.rows_guessed) if after is not None else (b"", True, 0)
        return CsvPiece(self.data[at:] + more, self.offset + at, self.line + lines, row, index, last, guessed, self.delimiter)

    def rows(self, header: tuple[str, ...], path: str) -> CsvRows:
        """The services of the piece, read as a reader of the whole file reads them there (each error at its line); its text was checked when it was cut."""
        text = io.StringIO(self.data.decode("utf-8"), newline="\n")  # lines end at \n alone, as ``_lines`` cuts them
        reader = csv.reader(text, delimiter=self.delimiter, strict=True)
        return CsvRows(reader, header, path, base=self.line, row=self.row, index=self.index, last=self.last, delimiter=self.delimiter)

    def check(self, path: str) -> None:
        """Refuse the text of the piece as ``_Text`` and ``_lines`` refuse a file's: not UTF-8, a NUL byte, a line too long."""
        data = self.data
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _not_utf8(self.offset + error.start, path) from None
        if b"\x00" in data:
            _nul(self.line + data.count(b"\n", 0, data.index(b"\x00")) + 1, path)
        if len(data) > MAX_SERVICE_CHARS:
            for number, line in enumerate(data.split(b"\n"), start=self.line + 1):
                if len(line) > MAX_SERVICE_CHARS and len(line.decode("utf-8")) > MAX_SERVICE_CHARS:
                    raise _too_long(number, path)


class CsvRegister:
    """A CSV register read as pieces of whole lines, for other processes to decode, read and decide.

    Only the header is read here; the rest is cut into ``CsvPiece`` of about
    ``PIECE_LINES`` lines without decoding it, so the process that cuts does
    little per row. A cut falls after a line with an even number of quotes
    before it, which is the end of a row unless a quote stands alone inside
    an unquoted cell; a piece read past its end in a quoted cell says so
    (``CsvRows.open_end``), and is read again joined to the next.
    ``bytes_read`` serves a progress bar; ``finished`` is set by whoever
    counts the services of the pieces, once all are counted.
    """

    def __init__(self, file: IO[bytes], path: str, size: int, known: Collection[str] | None = None) -> None:
        self.path = path
        self._known = known
        self.delimiter = ","
        self._file = file
        self.size = size
        self.bytes_read = 0
        self.header: tuple[str, ...] = ()
        self.finished = False

    def pieces(self) -> Iterator[CsvPiece]:
        """The header read (``header``), then the rest in pieces, each checked as text.

        The text is checked ``READ_CHUNK`` bytes ahead of the piece given, as
        a file read a chunk at a time is: bytes that are not UTF-8 or a NUL
        byte stop the run before the rows around them are decided.
        """
        ahead: deque[CsvPiece] = deque()
        size = 0
        for piece in self._cut():
            piece.check(self.path)
            ahead.append(piece)
            size += len(piece.data)
            while size >= READ_CHUNK:
                size -= len(ahead[0].data)
                yield ahead.popleft()
        yield from ahead

    def _cut(self) -> Iterator[CsvPiece]:
        file, path = self._file, self.path
        bom = 3 if file.read(3) == codecs.BOM_UTF8 else 0
        file.seek(bom)
        readline = functools.partial(file.readline, _PIECE_LINE_BYTES)
        shown: list[str] = []

        def header_lines() -> Iterator[str]:
            while line := readline():
                text = _decoded_line(line, file.tell() - bom - len(line), len(shown) + 1, path)
                shown.append(text)
                yield text

        lines = header_lines()
        first = next(lines, "")
        self.delimiter = _delimiter(first)
        reader = csv.reader(itertools.chain([first], lines), delimiter=self.delimiter, strict=True)
        try:
            self.header = _csv_header(reader, path)
        except FactsError:
            self._refuse_blank(shown)
            raise
        self._refuse_blank(shown)
        check_columns(self.header, self._known, path)
        lines, row, index = len(shown), 1, 0
        read = iter(readline, b"")
        offset = file.tell() - bom
        self.bytes_read = offset + bom
        while data := b"".join(itertools.islice(read, PIECE_LINES)):
            quotes = data.count(b'"')
            for _ in range(PIECE_LINES):  # an odd number of quotes: a quoted cell seems to go on; take lines until it closes
                if not quotes % 2:
                    break
                line = next(read, b"")
                data += line
                quotes += line.count(b'"')
            self.bytes_read += len(data)
            newlines = data.count(b"\n")
            guessed = newlines + (not data.endswith(b"\n"))
            yield CsvPiece(data, offset, lines, row, index, not file.peek(1), guessed, self.delimiter)  # type: ignore[attr-defined]
            offset += len(data)
            lines += newlines
            row += guessed
            index += guessed

    def _refuse_blank(self, shown: list[str]) -> None:
        """When the lines read so far are only spaces: the error a file of nothing but spaces gets, before what it lacks."""
        if "".join(shown).strip():
            return
        file = self._file
        at = file.tell()
        file.seek(0)
        next(_Text(file, self.path, size=self.size, limit=None, yaml_limit=False, binary_check=False).chunks())
        file.seek(at)


def _decoded_line(data: bytes, offset: int, number: int, path: str) -> str:
    """One line of a CSV file as text, refused as ``_Text`` and ``_lines`` refuse it (not UTF-8, a NUL byte, too long)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _not_utf8(offset + error.start, path) from None
    if "\x00" in text:
        _nul(number, path)
    if len(text) > MAX_SERVICE_CHARS:
        raise _too_long(number, path)
    return text


def _not_utf8(at: int, path: str) -> FactsError:
    return FactsError(f"this file is not UTF-8 text (byte {at} cannot be read)", path=path)


def _too_long(line: int, path: str) -> FactsError:
    return FactsError(f"line {line}: a line of more than {MAX_SERVICE_CHARS:,} characters is too long for a facts file", path=path)


def _services_from_jsonl(lines: Iterable[str], path: str) -> Iterator[ServiceFacts]:
    """JSON Lines: one service a line (blank lines skipped); a line that is not JSON is an error at that line."""
    decode = _json_decoder().decode
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = decode(line)
        except json.JSONDecodeError as error:
            raise FactsError(f"line {number}, column {error.colno}: this is not valid JSON ({error.msg})", path=path) from None
        except ValueError as error:
            raise FactsError(f"line {number}: {error}", path=path) from None
        except RecursionError:
            raise FactsError(f"line {number}: the JSON is nested too deeply", path=path) from None
        _check_unicode(item, path)
        yield ServiceFacts(item, path, count)
        count += 1


class _JsonArray:
    """A JSON array read an element at a time from pieces of text, each error placed at its line and column of the file.

    ``JSONDecoder.raw_decode`` reads one element from a buffer; when the
    buffer ends inside an element, more text is read (the buffer at least
    doubling, so an element split across many pieces is read in linear
    time) and the element read again. What has been read is dropped, so the
    buffer holds about one piece and one element.
    """

    def __init__(self, chunks: Iterator[str], path: str) -> None:
        self.chunks = chunks
        self.path = path
        self.buffer = ""
        self.eof = False
        self.base = 0  # characters of the file before the buffer
        self.lines = 0  # newlines before the buffer
        self.line_start = 0  # where the line the buffer starts on begins, in characters of the file

    def more(self, at_least: int = 1) -> bool:
        """Read pieces until the buffer has grown by ``at_least`` characters; False at the end of the file."""
        target = len(self.buffer) + at_least
        while len(self.buffer) < target:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                return False
            self.buffer += chunk
        return True

    def drop(self, upto: int) -> int:
        """Forget the buffer before ``upto``; the same position in the new buffer."""
        buffer = self.buffer
        newline = buffer.rfind("\n", 0, upto)
        if newline >= 0:
            self.lines += buffer.count("\n", 0, upto)
            self.line_start = self.base + newline + 1
        self.base += upto
        self.buffer = buffer[upto:]
        return 0

    def error(self, message: str, at: int) -> FactsError:
        buffer = self.buffer
        line = self.lines + buffer.count("\n", 0, at) + 1
        newline = buffer.rfind("\n", 0, at)
        column = at - newline if newline >= 0 else self.base + at - self.line_start + 1
        return FactsError(f"line {line}, column {column}: this is not valid JSON ({message})", path=self.path)

    def skip_space(self, at: int) -> int:
        """The position of the next character that is not JSON white space (``len(buffer)`` at the end of the file)."""
        while True:
            buffer = self.buffer
            while at < len(buffer) and buffer[at] in _JSON_SPACE:
                at += 1
            if at < len(buffer) or not self.more():
                return at

    def element(self, at: int) -> tuple[Any, int]:
        """The element that starts at ``at``, and where it ends."""
        decode = _DECODER.raw_decode
        while True:
            try:
                item, end = decode(self.buffer, at)
            except json.JSONDecodeError as error:
                if self.eof or len(self.buffer) - at > MAX_SERVICE_CHARS:
                    if not self.eof and (error.msg.startswith("Unterminated") or error.pos > len(self.buffer) - 1000):
                        message = f"a service of more than {MAX_SERVICE_CHARS:,} characters is too large to read"
                        raise self.error(message, at) from None
                    raise self.error(error.msg, error.pos) from None
                self.more(max(len(self.buffer) - at, READ_CHUNK))
                continue
            except ValueError as error:
                raise FactsError(str(error), path=self.path) from None
            except RecursionError:
                raise FactsError("the JSON is nested too deeply", path=self.path) from None
            if end == len(self.buffer) and not self.eof and self.more():  # a number may go on in the next piece
                continue
            return item, end

    def __iter__(self) -> Iterator[Any]:
        at = self.skip_space(0) + 1  # past the `[`
        at = self.skip_space(at)
        if self.buffer[at : at + 1] == "]":
            raise FactsError("the list of services is empty", path=self.path)
        while True:
            if at > READ_CHUNK:
                at = self.drop(at)
            item, at = self.element(at)
            yield item
            at = self.skip_space(at)
            mark = self.buffer[at : at + 1]
            if mark == "]":
                end = self.skip_space(at + 1)
                if end < len(self.buffer):
                    raise self.error("Extra data", end)
                return
            if mark != ",":
                raise self.error("Expecting ',' delimiter", at)
            at = self.skip_space(at + 1)


_DECODER = _json_decoder()


def _services_from_json_array(chunks: Iterator[str], path: str) -> Iterator[ServiceFacts]:
    for index, item in enumerate(_JsonArray(chunks, path)):
        _check_unicode(item, path)
        yield ServiceFacts(item, path, index)
