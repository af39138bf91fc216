"""A parsed rule file as JSON, for the parse cache: data that cannot run code.

The cache used to hold pickles, and reading a pickle runs whatever code it
names. This format holds only JSON values; a node is ``{"@": CLASS, "v":
[FIELDS...]}`` and is rebuilt only when ``CLASS`` is one of the AST classes of
``policy_rules.language.nodes`` or ``Diagnostic``, through that class's own
constructor. Amounts and dates are tagged text (``{"$dec": "12.50"}``,
``{"$date": "2024-04-01"}``); JSON arrays are the tuples of the AST. Anything
else (an unknown class, a wrong number of fields, a bad amount) is a
``ValueError``: the entry is damaged, and the file is parsed again.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from policy_rules.errors import Diagnostic, Span
from policy_rules.language import nodes as n

FORMAT = 1

_CLASSES: dict[str, type] = {
    **{cls.__name__: cls for cls in vars(n).values() if isinstance(cls, type) and cls.__module__ == n.__name__ and attrs.has(cls)},
    "Diagnostic": Diagnostic,
    "Span": Span,
}
_FIELDS: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in attrs.fields(cls)) for cls in _CLASSES.values()}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    kind = type(value)
    if kind in _FIELDS and _CLASSES.get(kind.__name__) is kind:
        return {"@": kind.__name__, "v": [_encode(getattr(value, name)) for name in _FIELDS[kind]]}
    raise ValueError(f"a parsed file holds a {kind.__name__}, which the parse cache cannot store")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "@" in value:
        cls = _CLASSES.get(value["@"]) if isinstance(value["@"], str) else None
        values = value.get("v")
        if cls is None or not isinstance(values, list) or len(values) != len(_FIELDS[cls]) or len(value) != 2:
            raise ValueError(f"not a node of a parsed file: {str(value.get('@'))[:40]}")
        return cls(**{name: _decode(v) for name, v in zip(_FIELDS[cls], values, strict=True)})
    if len(value) == 1 and isinstance(text := value.get("$dec"), str):
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError("a damaged amount") from None
    if len(value) == 1 and isinstance(text := value.get("$date"), str):
        return date.fromisoformat(text)
    raise ValueError("not a value of a parsed file")


def dumps(key: str, ast: n.RuleFile | None, diagnostics: list[Diagnostic]) -> str:
    """One cache entry: the key it is stored under, the file's AST (or None) and its diagnostics."""
    return json.dumps({"format": FORMAT, "key": key, "ast": _encode(ast), "diagnostics": _encode(diagnostics)}, ensure_ascii=False, separators=(",", ":"))


def loads(text: str, key: str, path: str) -> tuple[n.RuleFile | None, list[Diagnostic]]:
    """The AST and diagnostics of an entry, if it was stored under ``key`` for the file ``path``; else ValueError."""
    entry = json.loads(text)
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        raise ValueError("an entry of another file, or of another version")
    ast, diagnostics = _decode(entry.get("ast")), _decode(entry.get("diagnostics"))
    if not (ast is None or (isinstance(ast, n.RuleFile) and ast.path == path)):
        raise ValueError("an entry of another file")
    if not isinstance(diagnostics, tuple) or not all(isinstance(d, Diagnostic) and d.span.path == path for d in diagnostics):
        raise ValueError("damaged diagnostics")
    return ast, list(diagnostics)
