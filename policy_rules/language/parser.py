"""Text to parse tree: the Lark grammar, built once, and friendly syntax errors.

The grammar is the file ``grammar/policy.lark`` of the repository, shipped
inside the package as ``policy_rules/grammar/policy.lark``. The LALR parser is
built once per process from tables generated from it and shipped as JSON
(``policy_rules/language/parser_tables.py``), so start-up stays small and no cache that
could run code is ever read.

A file that does not parse is split at the lines that open a declaration and
each piece is parsed alone, so one mistake does not hide the next: every
declaration with a syntax error gets its own message.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Iterator
from functools import cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from policy_rules.errors import Diagnostic, source_line, text_lines
from policy_rules.language.nodes import Span
from policy_rules.renderers.escape import BIDI_CONTROLS

DECLARATION_KEYWORDS = ("policy", "document", "fact", "record", "parameter", "define", "decision", "rule", "table")
_DECLARATION_START = re.compile(r"^[ \t]*(" + "|".join(DECLARATION_KEYWORDS) + r")\b", re.MULTILINE)

MAX_NESTING = 60
#: Bidirectional control characters reported one by one in a file; the rest are counted.
MAX_BIDI_REPORTED = 100


@cache
def lark_parser() -> Lark:
    """The one LALR parser of this process, from the shipped tables (or the grammar, when they are stale)."""
    from policy_rules.language.parser_tables import load_parser

    return load_parser()


# --- words for what the parser expected ----------------------------------------

# Keywords and patterns that start a value or a condition: listed together as "a value".
_VALUE_START_WORDS = {"yes", "no", "empty", "(", "any", "all", "none", "at", "every", "not", "-", "number", "today", "years", "months", "days", "if", "the"}
_VALUE_START = {"NAME", "MONEY", "PERCENT", "DATE", "NUMBER", "INT", "STRING", "NO_QUANT", "TOTAL"}
_LITERALS = {"MONEY", "PERCENT", "DATE", "NUMBER", "STRING"}
# The words of the types: listed together as "a type".
_TYPE_WORDS = {"yes/no", "number", "whole", "money", "percentage", "date", "text", "one", "list"}
# Operators that may follow a value: listed together as "an operator".
_OPERATOR_WORDS = {"+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">=", "and", "or", "rounded", "applied"}
_OPERATORS = {"ADD_OP", "MUL_OP"}
_ONE_VALUE = {
    "NAME": "a name",
    "STRING": 'a text in double quotes, like "..."',
    "MONEY": "an amount of money, like £1,000",
    "PERCENT": "a percentage, like 5%",
    "DATE": "a date, like 2020-03-31",
    "NUMBER": "a number",
    "INT": "a whole number, like 2",
    "YESNO": "`yes/no`",
    "NO_QUANT": "`no`",
}
# Keywords that are always followed by another: shown as the whole phrase.
_PHRASES = {
    "one": "one of",
    "whole": "whole number",
    "list": "list of",
    "those": "those of",
    "by": "by default",
    "exception": "exception to",
    "kept": "kept for reference",
    "may": "may be negative",
    "at": "at least",
    "for": "for each",
    "element": "element outcomes",
    "service": "service name",
    "more": "more than",
    "less": "less than",
}
# Characters copied from a word processor, with what to write instead.
_LOOK_ALIKES = {
    "\u201c": 'texts are written in straight double quotes, like "...", not curly quotes',
    "\u201d": 'texts are written in straight double quotes, like "...", not curly quotes',
    "\u2018": 'texts are written in straight double quotes, like "...", not quotes like \u2018...\u2019',
    "\u2019": 'texts are written in straight double quotes, like "...", not quotes like \u2018...\u2019',
    "'": 'texts are written in double quotes, like "...", not single quotes',
    "\u2265": "write `is at least` (or `>=`) instead of `\u2265`",
    "\u2264": "write `is at most` (or `<=`) instead of `\u2264`",
    "\u2260": "write `is not` (or `<>`) instead of `\u2260`",
    "\u2013": "write a plain minus sign `-` instead of a dash",
    "\u2014": "write a plain minus sign `-` instead of a dash",
    "$": "amounts of money are written in pounds, like £1,000",
    "€": "amounts of money are written in pounds, like £1,000",
    "{": "group conditions with round brackets `(` and `)`",
    "[": "group conditions with round brackets `(` and `)`",
    "&": "write `and` instead of `&`",
    "|": "write `or` instead of `|`",
    "!": "write `not` instead of `!`",
    "\u00a0": "a non-breaking space (often pasted from a word processor) is not read as a space; type an ordinary space",
    "\u200b": "an invisible zero-width space (often pasted from a web page) is here; delete it",
    "\ufeff": "an invisible byte-order mark is here; delete it",
}

_DECLARATION_TERMINALS = {k.upper() for k in DECLARATION_KEYWORDS}
_TYPE_PHRASE = "a type: `yes/no`, `number`, `whole number`, `money`, `percentage`, `date`, `text`, `one of ...` or `list of ...`"
_VALUE_PHRASE = 'a name or a value, like 12, £1,000, 5%, 2020-03-31, "text" or yes'


def _keyword(name: str) -> str | None:
    """The text of a keyword terminal (``then`` for THEN), or None for a pattern."""
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" else None


def _one_word(name: str) -> str:
    if name in _ONE_VALUE:
        return _ONE_VALUE[name]
    text = _keyword(name)
    if text is None:  # a pattern without its own words: never show the terminal's name
        return "something else"
    return f"`{_PHRASES.get(text, text)}`"


def _join(parts: list[str]) -> str:
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _expected_phrase(accepts: set[str]) -> str:
    """What the parser would have accepted, in words: never a grammar token's name."""
    names = set(accepts)
    can_end = bool(names & (_DECLARATION_TERMINALS | {"$END"}))
    names -= _DECLARATION_TERMINALS | {"$END"}
    words = {name: _keyword(name) for name in names}
    parts: list[str] = []
    if "NAME" in names and names & _LITERALS:
        parts.append(_VALUE_PHRASE)
        names = {t for t in names if t not in _VALUE_START and words[t] not in _VALUE_START_WORDS}
    if len({words[t] for t in names} & _TYPE_WORDS) >= 3:
        parts.append(_TYPE_PHRASE)
        names = {t for t in names if t != "YESNO" and words[t] not in _TYPE_WORDS}
    operators = {t for t in names if t in _OPERATORS or words[t] in _OPERATOR_WORDS}
    if len(operators) >= 2:
        names = {t for t in names - operators if words[t] not in ("is", ".")}
    else:
        operators = set()
    values = sorted(_one_word(t) for t in names if t in _ONE_VALUE)
    keywords = sorted({_one_word(t) for t in names if t not in _ONE_VALUE})
    parts += values + keywords
    if operators:
        parts.append("an operator such as `and`, `or`, `is` or `+`")
    if can_end:
        parts.append("a new declaration" if parts else "the end of the declaration")
    return _join(parts)


def _describe_token(token: Token | None) -> str:
    if token is None or token.type in ("$END", "$end"):
        return "the end of the file"
    if token.type == "NAME":
        return f"the name `{token}`"
    if token.type == "STRING":
        text = str(token)
        shown = text if len(text) <= 32 else text[:28] + '..."'
        return f"the text {shown}"
    return f"`{token}`"


def _declaration_kind(text: str) -> str | None:
    for line in text_lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            match = _DECLARATION_START.match(line)
            return match.group(1) if match else None
    return None


def _did_you_mean(word: str, accepts: set[str]) -> str:
    """``; did you mean `default`?`` when a misspelt word is close to an expected keyword."""
    if len(word) < 2:
        return ""
    choices: dict[str, str] = {"yes/no": "yes/no"} if "YESNO" in accepts else {}
    for name in accepts:
        text = _keyword(name)
        if text and text.isalpha():
            choices[text] = _PHRASES.get(text, text)
    if accepts & ({"$END"} | _DECLARATION_TERMINALS):
        choices.update({k: k for k in DECLARATION_KEYWORDS})
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.7)
    return f"; did you mean `{choices[found[0]]}`?" if found else ""


def _first_error(chunk: str) -> tuple[UnexpectedInput, set[str], Token | None] | None:
    """Parse one declaration token by token: the first error, what would have been accepted, the last good token."""
    interactive = lark_parser().parse_interactive(chunk)
    last: Token | None = None
    before: Token | None = None
    try:
        for token in interactive.iter_parse():
            if token.type != "$END":
                before, last = last, token
        interactive.feed_eof(last)
    except UnexpectedInput as error:
        try:
            accepts = set(interactive.accepts())
        except Exception:  # the state cannot be replayed: fall back to what Lark saw
            accepts = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
        if isinstance(error, UnexpectedToken) and error.token.type != "$END" and last is error.token:
            last = before  # the last token the parser took
        return error, accepts, last
    return None


_WITHIN = re.compile(r"\bwithin\b[ \t]+([^\n]*?)[ \t]*\Z")


def _within_without_of(chunk: str, accepts: set[str], last: Token | None) -> str | None:
    """``within 6 months`` when the parser stopped wanting the ``of`` after it: the phrase to quote at its end, rather than the next line."""
    if "OF" not in accepts or last is None or last.end_pos is None:
        return None
    found = _WITHIN.search(chunk, 0, last.end_pos)
    return f"within {' '.join(found.group(1).split())}" if found else None


def _syntax_error(path: str, chunk: str, offset: int, text: str) -> Diagnostic | None:
    found = _first_error(chunk)
    if found is None:
        return None
    error, accepts, last = found
    kind = _declaration_kind(chunk)
    where = f" in this {kind} declaration" if kind else ""
    expected = _expected_phrase(accepts)
    line, column = getattr(error, "line", 1), getattr(error, "column", 1)
    if isinstance(error, UnexpectedCharacters):
        char = chunk[error.pos_in_stream] if 0 <= error.pos_in_stream < len(chunk) else ""
        if char == '"':
            message = 'this text is not closed: add the missing `"` before the end of the line'
        elif char in _LOOK_ALIKES:
            message = _LOOK_ALIKES[char]
        elif char == "£":
            message = "write an amount of money as £ followed by digits, like £1,000 or £250.50"
        else:
            message = f"the character `{char}` is not part of the rule language{where}; expected {expected}"
    else:
        assert isinstance(error, UnexpectedToken)
        token = error.token
        within = _within_without_of(chunk, accepts, last)
        if within is not None:
            assert last is not None
            line, column = last.end_line or 1, last.end_column or 1
            message = f"`{within}` says how near, but not to what: write `of` and a date after it, such as `{within} of today` or `{within} of another_date`"
        elif token.type in ("$END", "$end"):
            if last is not None:
                line, column = last.end_line or 1, last.end_column or 1
            message = f"this {kind + ' ' if kind else ''}declaration stops before it is complete; expected {expected}"
        elif kind is None:
            keywords = ", ".join(f"`{k}`" for k in DECLARATION_KEYWORDS)
            hint = _did_you_mean(str(token), _DECLARATION_TERMINALS) if token.type == "NAME" else ""
            message = f"{_describe_token(token)} cannot start a declaration; each declaration begins with one of {keywords}{hint}"
        else:
            hint = _did_you_mean(str(token), accepts) if token.type == "NAME" or _keyword(token.type) else ""
            if hint == f"; did you mean {expected}?":  # the only word expected: saying it once is enough
                hint = ""
            if not hint and "THEN" in accepts and token.type == "NAME":
                hint = "; is `then` missing before the conclusion?"
            if not hint and accepts == {"LPAR"}:
                hint = "; the values are listed in brackets, like `is one of (a, b)`"
            before = text_lines(chunk)[token.line - 1][: token.column - 1] if token.line and token.column else "x"
            starts_line = not before.strip()
            if starts_line and any(hint == f"; did you mean `{k}`?" for k in DECLARATION_KEYWORDS):
                message = f"found the name `{token}` where a new declaration or a clause of this {kind} declaration should begin{hint}"
            else:
                message = f"found {_describe_token(token)}{where}; expected {expected}{hint}"
    span = Span(path, line + offset, column, line + offset, column)
    return Diagnostic("error", span, message, source_line(text, span.line))


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # lines as the parser counts them, each with its newline


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split at each line that opens a declaration: (0-based first line, text)."""
    lines = _LINE.findall(text)
    starts = [0]
    for number, line in enumerate(lines):
        if number and _DECLARATION_START.match(line):
            starts.append(number)
    starts.append(len(lines))
    return [(a, "".join(lines[a:b])) for a, b in itertools.pairwise(starts) if a < b]


def parse_text(text: str, path: str) -> tuple[Tree | None, list[Diagnostic]]:
    """Parse one file: the tree, or None and one diagnostic per broken declaration, in order."""
    hidden = bidi_controls(text, path)
    if hidden:
        return None, hidden
    try:
        return lark_parser().parse(text), []
    except UnexpectedInput:
        pass
    diagnostics: list[Diagnostic] = []
    for offset, chunk in _chunks(text):
        if all(not ln.strip() or ln.lstrip().startswith("#") for ln in text_lines(chunk)):
            continue
        diagnostic = _syntax_error(path, chunk, offset, text)
        if diagnostic is not None:
            diagnostics.append(diagnostic)
    if not diagnostics:  # the pieces parse alone but not together: report at the end
        last = text.rstrip().count("\n") + 1
        span = Span(path, last, 1, last, 1)
        diagnostics.append(Diagnostic("error", span, "this file does not parse as a whole", source_line(text, last)))
    return None, sorted(diagnostics, key=Diagnostic.sort_key)


_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def bidi_controls(text: str, path: str) -> list[Diagnostic]:
    """An error at each bidirectional control character in a rule file.

    These invisible characters reorder how a line is shown, so a rule can read
    one way in an editor or a review and do another (the "Trojan Source"
    trick, CVE-2021-42574). The language has no escape that could write one
    inside a text, and no policy needs one, so each is refused where it stands.
    """
    found: list[Diagnostic] = []
    matches = list(itertools.islice(_BIDI.finditer(text), MAX_BIDI_REPORTED + 1))
    if not matches:
        return found
    lines = text_lines(text)
    for match in matches[:MAX_BIDI_REPORTED]:
        char = match.group()
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        message = (
            f"the invisible character {unicodedata.name(char)} (U+{ord(char):04X}) is not allowed in a rule file: "
            "it changes the order in which text is shown, so a rule could read differently from what it does; delete it"
        )
        found.append(Diagnostic("error", Span(path, line, column, line, column), message, lines[line - 1]))
    if len(matches) > MAX_BIDI_REPORTED:
        rest = len(_BIDI.findall(text, matches[-1].start()))
        last = found[-1].span
        message = f"and {rest:,} more such characters after this one; delete them all"
        found.append(Diagnostic("error", Span(path, last.line, last.column + 1, last.line, last.column + 1), message))
    return found


_BRACKETS = re.compile(r'"[^"\n]*"?|#[^\n]*|[()\n]')  # texts and comments are skipped whole


def _open_brackets(text: str) -> Iterator[tuple[int, int, int]]:
    """Each ``(`` outside texts and comments: the depth it opens, its line and column (1-based)."""
    depth = 0
    line, line_start = 1, 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token == "\n":
            line, line_start = line + 1, match.end()
        elif token == "(":
            depth += 1
            yield depth, line, match.start() - line_start + 1
        elif token == ")":
            depth = max(depth - 1, 0)


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting in ``text``, checked before parsing to bound recursion."""
    return max((depth for depth, _line, _column in _open_brackets(text)), default=0)


def first_bracket_beyond(text: str, limit: int = MAX_NESTING) -> tuple[int, int] | None:
    """Where brackets first nest deeper than ``limit``: the (line, column) of that bracket, or None."""
    return next(((line, column) for depth, line, column in _open_brackets(text) if depth > limit), None)
