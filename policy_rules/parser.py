"""Text to parse tree: the Lark grammar, built once, and friendly syntax errors.

The grammar is the file ``grammar/policy.lark`` of the repository, shipped
inside the package as ``policy_rules/grammar/policy.lark``. The LALR parser is
built once per process and its tables cached on disk, so start-up stays small.

A file that does not parse is split at the lines that open a declaration and
each piece is parsed alone, so one mistake does not hide the next: every
declaration with a syntax error gets its own message.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policy_rules.errors import Diagnostic
from policy_rules.nodes import Span

DECLARATION_KEYWORDS = ("policy", "document", "fact", "record", "parameter", "define", "decision", "rule")
_DECLARATION_START = re.compile(r"^[ \t]*(" + "|".join(DECLARATION_KEYWORDS) + r")\b", re.MULTILINE)

MAX_RULE_FILE_BYTES = 2_000_000
MAX_NESTING = 60


def grammar_text() -> str:
    """The grammar's text, from the installed package or, in a checkout, ``grammar/``."""
    packaged = resources.files("policy_rules").joinpath("grammar/policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / "grammar" / "policy.lark"
    return checkout.read_text(encoding="utf-8")


@cache
def lark_parser() -> Lark:
    """The one LALR parser of this process (tables cached on disk between runs)."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


# --- words for what the parser expected ----------------------------------------

_VALUE_WORDS = {
    "NAME": "a name",
    "STRING": 'a text in double quotes, like "..."',
    "MONEY": "an amount of money, like £1,000",
    "PERCENT": "a percentage, like 5%",
    "DATE": "a date, like 2020-03-31",
    "NUMBER": "a number",
    "INT": "a whole number",
    "YESNO": "yes/no",
    "NO_QUANT": "no",
}
_PHRASES = {"one": "one of", "whole": "whole number", "list": "list of", "at": "at least", "those": "those of", "by": "by default", "exception": "exception to"}


def _terminal_words(name: str) -> str:
    if name in _VALUE_WORDS:
        return _VALUE_WORDS[name]
    if name in ("$END", "$end"):
        return "the end of the file"
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"`{_PHRASES.get(pattern.value, pattern.value)}`"
    return name.lower()


def _describe_token(token: Token | None) -> str:
    if token is None or token.type in ("$END", "$end"):
        return "the end of the file"
    if token.type == "NAME":
        return f"the name `{token}`"
    if token.type == "STRING":
        return f"the text {token}"
    if token.type in _VALUE_WORDS:
        return f"`{token}`"
    return f"`{token}`"


def _expected_phrase(expected: set[str]) -> str:
    words = sorted({_terminal_words(name) for name in expected})
    keywords = [w for w in words if w.startswith("`")]
    values = [w for w in words if not w.startswith("`")]
    operators = {"`+`", "`-`", "`*`", "`/`", "`=`", "`<>`", "`<`", "`<=`", "`>`", "`>=`", "`and`", "`or`"}
    has_operators = any(k in operators for k in keywords)
    keywords = [k for k in keywords if k not in operators]
    parts = values + keywords
    if has_operators:
        parts.append("an operator such as `and`, `or`, `is at most` or `+`")
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _declaration_kind(text: str) -> str | None:
    match = _DECLARATION_START.match(text)
    return match.group(1) if match else None


def _syntax_message(error: UnexpectedInput, chunk: str) -> str:
    kind = _declaration_kind(chunk)
    where = f" in this {kind} declaration" if kind else ""
    if isinstance(error, UnexpectedCharacters):
        char = chunk.splitlines()[error.line - 1][error.column - 1 : error.column] if error.line >= 1 else ""
        if char == '"':
            return "this text is not closed: add the missing `\"` before the end of the line"
        if char == "'":
            return "texts are written in double quotes, like \"...\", not single quotes"
        return f"the character `{char}` is not part of the rule language{where}; expected {_expected_phrase(set(error.allowed or ()))}"
    if isinstance(error, UnexpectedEOF):
        return f"this {kind or ''} declaration stops before it is complete; expected {_expected_phrase(set(error.expected))}"
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = set(error.expected)
    if token.type == "$END":
        return f"this {kind} declaration stops before it is complete; expected {_expected_phrase(expected)}"
    if kind is None:
        return (
            f"{_describe_token(token)} cannot start a declaration; each declaration begins with one of "
            + ", ".join(f"`{k}`" for k in DECLARATION_KEYWORDS)
        )
    if token.type == "NAME" and expected & {"BECAUSE", "CITES", "MEANS", "ASKS"} and not expected & {"NAME"}:
        return f"found {_describe_token(token)}{where}; expected {_expected_phrase(expected)} (is a word misspelt?)"
    return f"found {_describe_token(token)}{where}; expected {_expected_phrase(expected)}"


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split at each line that opens a declaration: (0-based first line, text)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for number, line in enumerate(lines):
        if number and _DECLARATION_START.match(line):
            starts.append(number)
    starts.append(len(lines))
    return [(a, "".join(lines[a:b])) for a, b in zip(starts, starts[1:], strict=False) if a < b]


def _error_span(path: str, error: UnexpectedInput, chunk: str, line_offset: int) -> Span:
    line = getattr(error, "line", -1)
    column = getattr(error, "column", -1)
    if line is None or line < 1:
        stripped = chunk.rstrip()
        line = stripped.count("\n") + 1
        column = len(stripped.rsplit("\n", 1)[-1]) + 1
    return Span(path, line + line_offset, column, line + line_offset, column)


def source_line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def parse_text(text: str, path: str) -> tuple[Tree | None, list[Diagnostic]]:
    """Parse one file: the tree, or None and one diagnostic per broken declaration."""
    try:
        return lark_parser().parse(text), []
    except UnexpectedInput:
        pass
    diagnostics: list[Diagnostic] = []
    for offset, chunk in _chunks(text):
        if not chunk.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in chunk.splitlines()):
            continue
        try:
            lark_parser().parse(chunk)
        except UnexpectedInput as error:
            span = _error_span(path, error, chunk, offset)
            diagnostics.append(Diagnostic("error", span, _syntax_message(error, chunk), source_line(text, span.line)))
    if not diagnostics:  # the pieces parse alone but not together: report at the end
        last = text.rstrip().count("\n") + 1
        span = Span(path, last, 1, last, 1)
        diagnostics.append(Diagnostic("error", span, "this file does not parse as a whole", source_line(text, last)))
    return None, diagnostics


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting in ``text``, checked before parsing to bound recursion."""
    depth = deepest = 0
    in_string = False
    for char in text:
        if char == '"':
            in_string = not in_string
        elif char == "\n":
            in_string = False
        elif not in_string:
            if char == "(":
                depth += 1
                deepest = max(deepest, depth)
            elif char == ")":
                depth = max(depth - 1, 0)
    return deepest
