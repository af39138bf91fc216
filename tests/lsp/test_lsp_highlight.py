"""The Pygments lexer and the TextMate grammar colour every keyword of ``grammar/policy.lark``, and nothing else as one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lark import Lark
from pygments.token import Keyword, Name, Operator

from policy_rules.lsp.lexer import KEYWORDS, PolicyRulesLexer, textmate

ROOT = Path(__file__).resolve().parents[2]
TEXTMATE = ROOT / "editors" / "vscode" / "syntaxes" / "policy-rules.tmLanguage.json"


def grammar_keywords() -> set[str]:
    """The words of the grammar: its string terminals that are words, read from the Lark grammar itself."""
    grammar = Lark((ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8"), parser="lalr")
    return {t.pattern.value for t in grammar.terminals if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z][A-Za-z/]*", t.pattern.value)}


GRAMMAR = sorted(grammar_keywords())


def test_the_lexer_knows_exactly_the_grammar_s_keywords() -> None:
    assert len(GRAMMAR) > 50
    assert sorted(KEYWORDS - set(GRAMMAR)) == [], "words coloured as keywords that the grammar does not have"
    assert sorted(set(GRAMMAR) - KEYWORDS) == [], "keywords of grammar/policy.lark that the lexer does not colour"


@pytest.mark.parametrize("word", GRAMMAR)
def test_pygments_colours_each_keyword(word: str) -> None:
    tokens = [(kind, text) for kind, text in PolicyRulesLexer().get_tokens(f"  {word} other_name\n") if text.strip()]
    assert tokens[0][1] == word and (tokens[0][0] in Keyword or tokens[0][0] in Operator.Word)
    assert tokens[1] == (Name, "other_name")


def _first_scope(patterns: list[dict], line: str) -> tuple[str, str]:
    """What TextMate colours first in a line: the leftmost match, the earlier pattern on a tie."""
    best: tuple[int, int, str, str] | None = None
    for order, pattern in enumerate(patterns):
        found = re.search(pattern.get("match") or pattern["begin"], line)
        if found is not None and (best is None or (found.start(), order) < best[:2]):
            best = (found.start(), order, pattern["name"], found.group())
    assert best is not None
    return best[2], best[3]


def test_the_textmate_grammar_is_the_one_the_lexer_writes() -> None:
    assert json.loads(TEXTMATE.read_text(encoding="utf-8")) == textmate(), "run: python -m policy_rules.lsp.lexer > " + str(TEXTMATE.relative_to(ROOT))


@pytest.mark.parametrize("word", GRAMMAR)
def test_textmate_colours_each_keyword(word: str) -> None:
    patterns = json.loads(TEXTMATE.read_text(encoding="utf-8"))["patterns"]
    scope, text = _first_scope(patterns, f"  {word} other_name")
    assert text == word
    assert scope.split(".")[0] in ("keyword", "storage", "constant") and scope.endswith(".policy-rules")
    if "/" not in word:  # a keyword inside a longer name is part of the name
        assert _first_scope(patterns, f"  {word}_name")[0] == "variable.other.policy-rules"
