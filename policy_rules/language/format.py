"""The one layout of a rule file (``policy-rules fmt``): the same text for the same rules, every comment kept.

Its place: a reading of the source text beside the parser, not a printer of
the AST, because the AST keeps where each node sits but not the comments; so
the text is read line by line, as the parser's own declarations are found
(a line opening with a declaration keyword starts one), and each line is laid
out again:

- a declaration at the margin, its clauses two spaces in (a table's rows two,
  their clauses four; a record's fields two, their clauses four; a scale's
  brackets or bands two, their thresholds and rates four);
- a line that goes on with a clause is set under it: a line opening with
  ``and`` or ``or`` ends that word where the clause's first word ends (so the
  conditions read as a column), any other one starts after that word and a
  space (a list of outcomes or sections under its first item); the lines of a
  ``define`` body stand two spaces in;
- the words of a line one space apart, none inside brackets or before a
  comma, none around the dot of ``item.field``, a minus sign against what it
  negates;
- a comment on its own line takes the place of the line it comes before;
  comments at the end of consecutive lines are set in one column, one space
  after the longest line;
- no space at the end of a line, one blank line at most, one before every
  declaration (declarations of one line each, of one kind, such as a list
  of facts, may follow one another without), none before a clause, one line
  ending at the end.

Where lines break is the author's choice and is kept. The laid-out text is
parsed again and must give the same AST (spans apart) as the original, so a
layout can never change what a rule says; ``format_text`` raises
``FormatError`` for a file that does not parse.
"""

from __future__ import annotations

import re

import attrs

from policy_rules.errors import Diagnostic, PolicyError
from policy_rules.language.parser import DECLARATION_KEYWORDS

_TOKEN = re.compile(
    r"""
    (?P<string>"([^"\\\n]|\\["\\])*")
  | (?P<comment>\#.*)
  | (?P<money>£\s?\d+(,\d+)*(\.\d+)?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<percent>\d+(\.\d+)?%)
  | (?P<number>\d+(\.\d+)?)
  | (?P<word>yes/no|[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|<=|>=|[-+*/=<>(),.])
  | (?P<other>\S)
    """,
    re.VERBOSE,
)

#: The clauses of each declaration (its own lines), by the word they open with; ``None`` for the parts a table's row or a record's field holds.
_CLAUSES: dict[str, frozenset[str]] = {
    "policy": frozenset({"version", "service", "outcome", "priority", "reasons", "element", "results"}),
    "document": frozenset({"sections"}),
    "fact": frozenset({"means", "asks", "default", "kept", "cites", "at", "may"}),
    "record": frozenset({"means", "field"}),
    "parameter": frozenset({"means", "value", "no", "bracket", "band", "cites"}),
    "define": frozenset({"because", "cites"}),
    "decision": frozenset({"means", "outcomes"}),
    "rule": frozenset({"by", "exception", "when", "then", "because", "cites"}),
    "table": frozenset({"row", "otherwise"}),
}
_NESTED = {"field": frozenset({"means", "asks", "default", "at", "may"}), "row": frozenset({"when", "then", "because", "cites"})}
_NESTED["otherwise"] = _NESTED["row"]
_NESTED["bracket"] = _NESTED["band"] = frozenset({"threshold", "rate", "amount"})
#: Words after which a minus sign negates what follows rather than subtracts.
_BEFORE_NEGATION = frozenset(
    {"is", "least", "most", "above", "below", "than", "before", "after", "of", "and", "or", "not", "when", "then", "as", "to", "from"}
    | {"between", "within", "value", "default", "else", "if"}
)


class FormatError(PolicyError):
    """A rule file that cannot be laid out: it does not parse (its diagnostics say where), or the layout would change it."""

    def __init__(self, message: str, location: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message, location)
        self.diagnostics = diagnostics


@attrs.define
class _Line:
    code: str
    comment: str | None
    first: str | None
    brackets: str = ""  # the line's round brackets, in order
    indent: int = 0
    kind: str = "code"  # code, comment (a line of comment alone), blank


def _split(line: str) -> tuple[list[tuple[str, str]], str | None]:
    tokens: list[tuple[str, str]] = []
    comment = None
    for m in _TOKEN.finditer(line):
        kind = m.lastgroup or "other"
        if kind == "comment":
            comment = m.group().rstrip()
            break
        tokens.append((kind, m.group()))
    return tokens, comment


def _joined(tokens: list[tuple[str, str]]) -> str:
    out: list[str] = []
    previous: tuple[str, str] | None = None
    for i, (kind, text) in enumerate(tokens):
        if previous is not None:
            pt = previous[1]
            tight = pt == "(" or text in (")", ",") or text == "." or pt == "." or (pt == "-" and _negation(tokens, i - 1))
            out.append("" if tight else " ")
        out.append(text)
        previous = (kind, text)
    return "".join(out)


def _negation(tokens: list[tuple[str, str]], at: int) -> bool:
    """Whether the minus sign at ``at`` negates (nothing before it that it could subtract from)."""
    if at == 0:
        return True
    kind, text = tokens[at - 1]
    if kind == "op":
        return text != ")"
    return kind == "word" and text in _BEFORE_NEGATION


def _lines(text: str) -> list[_Line]:
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        tokens, comment = _split(raw)
        if not tokens:
            lines.append(_Line("", comment, None, kind="comment" if comment else "blank"))
            continue
        first = tokens[0][1] if tokens[0][0] == "word" else None
        brackets = "".join(t for k, t in tokens if k == "op" and t in "()")
        lines.append(_Line(_joined(tokens), comment, first, brackets))
    return lines


def _indent(lines: list[_Line]) -> None:
    """Each line of code its indent, from the declaration and clause it belongs to."""
    declaration: str | None = None
    nested: str | None = None  # the row or field whose clauses come next
    clause: tuple[int, str] | None = None  # the indent and first word of the clause being continued
    open_at: list[int] = []  # the indent of the line that opened each bracket still open
    for line in lines:
        if line.kind != "code":
            continue
        word = line.first
        if open_at and line.first not in DECLARATION_KEYWORDS:
            line.indent = open_at[-1] + (0 if line.code.startswith(")") else 2)
            _brackets(line, open_at)
            continue
        open_at.clear()
        _place(line, declaration, nested, clause)
        _brackets(line, open_at)
        if word in DECLARATION_KEYWORDS:
            declaration, nested, clause = word, None, (0, word)
        elif declaration is not None and nested is not None and word in _NESTED[nested]:
            clause = (line.indent, word or "")
        elif declaration is not None and word in _CLAUSES[declaration]:
            nested = word if word in _NESTED else None
            clause = (line.indent, word or "")


def _brackets(line: _Line, open_at: list[int]) -> None:
    for b in line.brackets:
        if b == "(":
            open_at.append(line.indent)
        elif open_at:
            open_at.pop()


def _place(line: _Line, declaration: str | None, nested: str | None, clause: tuple[int, str] | None) -> None:
    """The indent of a line outside brackets: a declaration, a clause (of a row or field), or the continuation of a clause."""
    word = line.first
    if word in DECLARATION_KEYWORDS:
        line.indent = 0
    elif declaration is not None and nested is not None and word in _NESTED[nested]:
        line.indent = 4
    elif (declaration is not None and word in _CLAUSES[declaration]) or clause is None or clause[1] in DECLARATION_KEYWORDS:
        line.indent = 2
    else:
        at, opener = clause
        line.indent = max(at + len(opener) - len(word or ""), 0) if word in ("and", "or") else at + len(opener) + 1


def _comments(lines: list[_Line]) -> None:
    """A comment alone on its line takes the indent of the line of code it comes before, with no blank line between; else the margin."""
    following = 0
    for line in reversed(lines):
        if line.kind == "code":
            following = line.indent
        elif line.kind == "blank":
            following = 0
        else:
            line.indent = following


def _blank_lines(lines: list[_Line]) -> list[_Line]:
    kept: list[_Line] = []
    for line in lines:
        if line.kind == "blank":
            if kept and kept[-1].kind != "blank":
                kept.append(line)
            continue
        if line.kind == "code" and kept and kept[-1].kind == "blank" and line.first not in DECLARATION_KEYWORDS:
            before = kept[-2] if len(kept) > 1 else None
            if before is not None and before.kind == "code":
                kept.pop()
        if line.kind == "code" and line.first in DECLARATION_KEYWORDS and kept:
            start = len(kept)
            while start > 0 and kept[start - 1].kind == "comment":
                start -= 1
            if start > 0 and kept[start - 1].kind == "code" and not _one_line_alike(kept[start - 1], line):
                kept.insert(start, _Line("", None, None, kind="blank"))
        kept.append(line)
    while kept and kept[-1].kind == "blank":
        kept.pop()
    return kept


def _one_line_alike(previous: _Line, line: _Line) -> bool:
    """Whether ``previous`` is a whole declaration of one line of the same kind as ``line``: a list of short facts may go without blank lines."""
    return previous.first == line.first and previous.indent == 0 and not previous.brackets.count("(") - previous.brackets.count(")")


def _rendered(lines: list[_Line]) -> str:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind == "code" and line.comment is not None:
            j = i
            while j < len(lines) and lines[j].kind == "code" and lines[j].comment is not None:
                j += 1
            column = max(lines[k].indent + len(lines[k].code) for k in range(i, j)) + 1
            for k in range(i, j):
                body = " " * lines[k].indent + lines[k].code
                out.append(body + " " * (column - len(body)) + (lines[k].comment or ""))
            i = j
            continue
        if line.kind == "blank":
            out.append("")
        elif line.kind == "comment":
            out.append(" " * line.indent + (line.comment or ""))
        else:
            out.append(" " * line.indent + line.code)
        i += 1
    return "\n".join(out) + "\n" if out else ""


def layout(text: str) -> str:
    """The text in the canonical layout, without checking that it still parses alike (``format_text`` does)."""
    lines = _lines(text)
    _indent(lines)
    _comments(lines)
    return _rendered(_blank_lines(lines))


def format_text(text: str, path: str) -> str:
    """The rule file's text in the canonical layout; ``FormatError`` when it does not parse, or (a bug) would parse differently."""
    from policy_rules.language.loader import parse_file

    before, errors = parse_file(path, text)
    problems = tuple(d for d in errors if d.severity == "error")
    if before is None or problems:
        raise FormatError("this file has errors, so it is not formatted; `policy-rules check` lists them", path, problems)
    formatted = layout(text)
    after, _ = parse_file(path, formatted)
    if after != before:
        raise FormatError("laying this file out would change what it says, so it is left as it is; please report this as a bug", path)
    return formatted
