"""Colours for rule files: a Pygments lexer, and the TextMate grammar of ``editors/vscode`` made from the same words.

Its place: beside the language server, for what reads rule files without
it: the docs (Pygments, registered under the name ``policy-rules``) and
editors that take a TextMate grammar. The words are grouped as the grammar
uses them; ``tests/test_lsp_highlight.py`` checks that together they are
exactly the keywords of ``grammar/policy.lark``, so a keyword added there
fails the test until it is coloured here. ``python -m
policy_rules.lsp.lexer`` writes the TextMate grammar from these lists.
"""

from __future__ import annotations

import json
import re
import sys
from typing import ClassVar

from pygments.lexer import RegexLexer, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

DECLARATIONS = ("policy", "document", "fact", "record", "field", "parameter", "define", "decision", "rule", "table", "row", "otherwise")
TYPES = ("yes/no", "number", "whole", "money", "percentage", "date", "text", "list", "one")
CONSTANTS = ("yes", "no", "empty", "today")
OPERATORS = (
    "and",
    "or",
    "not",
    "is",
    "above",
    "below",
    "before",
    "after",
    "least",
    "most",
    "more",
    "less",
    "than",
    "between",
    "within",
    "known",
    "in",
    "where",
    "if",
    "else",
    "the",
    "greater",
    "smaller",
    "rounded",
    "nearest",
    "down",
    "up",
    "applied",
)
CLAUSES = (
    "version", "service", "name", "outcome", "outcomes", "priority", "reasons", "element", "sections", "section", "paragraph", "cites",
    "means", "asks", "default", "kept", "for", "reference", "value", "from", "until", "as", "those", "of", "that", "hold", "each",
    "by", "exception", "to", "when", "then", "because", "first", "applies", "any", "all", "none", "every", "at",
    "day", "days", "week", "weeks", "month", "months", "year", "years", "results", "may", "be", "negative", "a",
    "penny", "pound", "marginal", "banded", "scale", "bracket", "band", "threshold", "rate", "amount",
)  # fmt: skip
GROUPS = {
    "keyword.declaration.policy-rules": DECLARATIONS,
    "storage.type.policy-rules": TYPES,
    "constant.language.policy-rules": CONSTANTS,
    "keyword.operator.word.policy-rules": OPERATORS,
    "keyword.other.policy-rules": CLAUSES,
}
KEYWORDS = frozenset(w for group in GROUPS.values() for w in group)


class PolicyRulesLexer(RegexLexer):
    """Rule files (``.rules``) of policy_rules."""

    name = "policy-rules"
    aliases: ClassVar[list[str]] = ["policy-rules", "rules"]
    filenames: ClassVar[list[str]] = ["*.rules"]
    tokens: ClassVar[dict[str, list]] = {
        "root": [
            (r"#[^\n]*", Comment.Single),
            (r'"(?:[^"\\\n]|\\["\\])*"', String.Double),
            (r"£\s?\d+(?:,\d+)*(?:\.\d+)?", Number),
            (r"\d{4}-\d{2}-\d{2}", Number),
            (r"\d+(?:\.\d+)?%?", Number),
            (r"yes/no\b", Keyword.Type),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(OPERATORS, suffix=r"\b"), Operator.Word),
            (words(CLAUSES, suffix=r"\b"), Keyword),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"<>|<=|>=|[-+*/=<>]", Operator),
            (r"[(),.]", Punctuation),
            (r"\s+", Text),
            (r".", Text),
        ]
    }


def _alternation(group: tuple[str, ...]) -> str:
    return r"(?<![A-Za-z0-9_])(?:" + "|".join(re.escape(w) for w in sorted(group, key=lambda w: (-len(w), w))) + r")(?![A-Za-z0-9_])"


def textmate() -> dict[str, object]:
    """The TextMate grammar: comments, texts, numbers, amounts and dates, then each group of words."""
    patterns: list[dict[str, object]] = [
        {"name": "comment.line.number-sign.policy-rules", "match": "#.*$"},
        {
            "name": "string.quoted.double.policy-rules",
            "begin": '"',
            "end": '"|$',
            "patterns": [{"name": "constant.character.escape.policy-rules", "match": r"\\[\"\\]"}],
        },
        {"name": "constant.numeric.policy-rules", "match": r"£\s?\d+(?:,\d+)*(?:\.\d+)?|\b\d{4}-\d{2}-\d{2}\b|\b\d+(?:\.\d+)?%?"},
    ]
    patterns += [{"name": scope, "match": _alternation(group)} for scope, group in GROUPS.items()]
    patterns.append({"name": "variable.other.policy-rules", "match": r"\b[A-Za-z_][A-Za-z0-9_]*\b"})
    return {"name": "Policy rules", "scopeName": "source.policy-rules", "fileTypes": ["rules"], "patterns": patterns}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(textmate(), indent=2, ensure_ascii=False) + "\n")
