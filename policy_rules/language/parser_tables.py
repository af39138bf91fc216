"""The LALR parser's tables, generated from the grammar and shipped as JSON.

Building the parser from ``grammar/policy.lark`` takes about 0.15 s, too long
for every ``check``. Lark's own cache would keep the tables in a pickle under
a temporary file name anyone on the machine can predict, and a pickle runs
code when it is read: whoever planted that file would run code as the next
user to check a policy. So the tables are generated once, by a developer,
into ``grammar_tables.json`` inside the package, and read back with ``json``
and Lark's own deserializer, which only rebuilds the grammar classes it names.

The file records a digest of the grammar and parser options it was made
from. When they differ (a developer has just edited the grammar) or the file
cannot be loaded, the parser is built from the grammar in memory and nothing
is written; ``tests/security/test_caches.py`` fails until the file is made
again with::

    python -m policy_rules.language.parser_tables
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

from policy_rules.language.resources import grammar_text, parser_tables_text
from policy_rules.safety.outputs import write_whole

TABLES_FILE = "grammar_tables.json"
REGENERATE = "python -m policy_rules.language.parser_tables"
FORMAT = 1

LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": False}

# JSON has neither whole-number keys nor tuples, and Lark's tables have both.
_INT_KEYS = "#int-keys"
_TUPLE = "#tuple"


def grammar_digest(grammar: str) -> str:
    """What the tables depend on: the grammar's text and the options the parser is built with."""
    h = hashlib.sha256(json.dumps([FORMAT, LARK_OPTIONS], sort_keys=True).encode())
    h.update(grammar.encode("utf-8"))
    return "sha256:" + h.hexdigest()


def build_from_grammar(grammar: str | None = None) -> Lark:
    """The parser built from the grammar itself, in memory only (never with Lark's ``cache``)."""
    return Lark(grammar_text() if grammar is None else grammar, **LARK_OPTIONS)


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            if _INT_KEYS in value or _TUPLE in value:
                raise ValueError(f"Lark's tables use a key ({_INT_KEYS!r} or {_TUPLE!r}) that the tables file uses as a mark")
            return {k: _encode(v) for k, v in value.items()}
        if not all(type(k) is int for k in value):
            raise ValueError(f"Lark's tables have keys that are neither text nor whole numbers: {list(value)[:3]}")
        return {_INT_KEYS: [[k, _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"Lark's tables hold a {type(value).__name__}, which the tables file cannot store")


def _decode_object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if _INT_KEYS in obj:
            return dict(obj[_INT_KEYS])
        if _TUPLE in obj:
            return tuple(obj[_TUPLE])
    return obj


def _serialized(parser: Lark) -> tuple[Any, Any]:
    return parser.memo_serialize([TerminalDef, Rule])


def _canonical(table: dict[str, Any]) -> dict[str, Any]:
    """The LALR table with its states and tokens numbered in one fixed order.

    Lark numbers them in an order that changes from one process to the next,
    so the same grammar would give a different file each time; numbered here
    in the order a walk from the start states meets them (tokens by name), it
    gives the same file, and a regenerated file differs only where the grammar did.
    """
    names: dict[int, str] = table["tokens"]
    states: dict[int, dict[int, tuple[int, Any]]] = table["states"]
    order: list[int] = []
    number: dict[int, int] = {}
    waiting = [table["start_states"][start] for start in sorted(table["start_states"])]
    while waiting:
        state = waiting.pop(0)
        if state in number:
            continue
        number[state] = len(order)
        order.append(state)
        for token in sorted(states[state], key=names.__getitem__):
            kind, argument = states[state][token]
            if kind == 0:
                waiting.append(argument)
    for state in states:  # none should be left, but a table is never cut short
        if state not in number:
            number[state] = len(order)
            order.append(state)
    token_number: dict[str, int] = {}
    new_states = {}
    for state in order:
        actions = {}
        for token in sorted(states[state], key=names.__getitem__):
            kind, argument = states[state][token]
            actions[token_number.setdefault(names[token], len(token_number))] = (kind, number[argument] if kind == 0 else argument)
        new_states[number[state]] = actions
    return {
        **table,
        "tokens": {i: name for name, i in token_number.items()},
        "states": new_states,
        "start_states": {k: number[v] for k, v in table["start_states"].items()},
        "end_states": {k: number[v] for k, v in table["end_states"].items()},
    }


def tables_json(parser: Lark, grammar: str) -> str:
    """The tables file's text for ``parser``, built from ``grammar``.

    Refuses (ValueError) unless the parser loaded back from that text
    serializes exactly as ``parser`` does, so a tables file that would give
    another parser is never written.
    """
    data, memo = _serialized(parser)
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    document = {"format": FORMAT, "grammar_digest": grammar_digest(grammar), "regenerate": REGENERATE, "data": _encode(data), "memo": _encode(memo)}
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"), sort_keys=True) + "\n"
    loaded = _load(text, grammar)
    if loaded is None or _serialized(loaded) != (data, memo):
        raise ValueError("the parser read back from the tables differs from the one built from the grammar")
    return text


def _load(text: str, grammar: str) -> Lark | None:
    """The parser from a tables file's text, or None when it was made from another grammar."""
    document = json.loads(text, object_hook=_decode_object)
    if document.get("format") != FORMAT or document.get("grammar_digest") != grammar_digest(grammar):
        return None
    return Lark._load_from_dict(document["data"], document["memo"])


def load_parser() -> Lark:
    """The parser from the shipped tables, or built from the grammar when they are missing, stale or unreadable."""
    grammar = grammar_text()
    text = parser_tables_text(TABLES_FILE)
    if text is not None:
        try:
            loaded = _load(text, grammar)
        except Exception:  # tables from another version of Lark: the grammar still gives a parser
            loaded = None
        if loaded is not None:
            return loaded
    return build_from_grammar(grammar)


def tables_are_current() -> bool:
    """Whether the shipped tables file was made from the grammar as it is now."""
    text = parser_tables_text(TABLES_FILE)
    if text is None:
        return False
    return json.loads(text, object_hook=_decode_object).get("grammar_digest") == grammar_digest(grammar_text())


def write_tables(target: Path | None = None) -> Path:
    """Generate the tables file from the grammar, replacing the old one only once the new one is complete."""
    target = target or Path(__file__).resolve().parent / TABLES_FILE
    grammar = grammar_text()
    text = tables_json(build_from_grammar(grammar), grammar)
    write_whole(target, text, mode=0o644)  # a package file, read by whoever installs it
    return target


def main() -> int:
    written = write_tables()
    print(f"wrote {written} ({written.stat().st_size:,} bytes) from the grammar {grammar_digest(grammar_text())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
