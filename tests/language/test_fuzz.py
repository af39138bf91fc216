"""Fuzzing: no input, however odd, gets past the engine as anything but a ``PolicyError``.

Three groups of properties, each with a fixed seed (``derandomize=True``), so
a run is repeatable and a failure comes back on the next run:

(a) facts of every shape (None, booleans, huge integers, NaN and infinite
    floats, odd Unicode, lists, mappings, deep nesting, texts that look like
    money, dates or JSON) under the Haringey fact names and under undeclared
    names, given to ``Policy.evaluate``: the decision is made and can be shown,
    or a ``PolicyError`` with a location says what is wrong;
(b) the files of ``rules/haringey`` and ``rules/small-example``, mutated
    (lines and words deleted, duplicated, swapped; truncated; stray characters
    and odd Unicode inserted; case changed), given to ``api.analyse``, which
    must return, with every diagnostic at a real place and in words (never a
    grammar token's name), and to ``load_policy`` on a folder, which may raise
    only a ``PolicyError`` and agrees with ``analyse``;
(c) a sample of those mutated files given to the real ``policy-rules check``
    in a subprocess: exit status 0 or 1 within 20 s, never a traceback.

How many cases: ``POLICY_RULES_FUZZ_EXAMPLES`` (default 1000) scales every
property; the default runs about 2,600 cases in all. A longer run, as in
``docs/robustness.md``::

    POLICY_RULES_FUZZ_EXAMPLES=20000 python -m pytest tests/language/test_fuzz.py
"""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from policy_rules import Decision, Policy, PolicyError, RuleFileError, load_policy
from policy_rules.api import analyse, read_sources
from policy_rules.renderers import reports as render

ROOT = Path(__file__).resolve().parents[2]
HARINGEY = ROOT / "rules" / "haringey"
SMALL = ROOT / "rules" / "small-example"

EXAMPLES = int(os.environ.get("POLICY_RULES_FUZZ_EXAMPLES", "1000"))
SECONDS_PER_CASE = 20  # an in-process case that takes longer counts as a hang


def fuzz_settings(share: float, minimum: int = 10) -> settings:
    return settings(
        max_examples=max(minimum, int(EXAMPLES * share)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class Hang(Exception):
    """An in-process case ran longer than SECONDS_PER_CASE."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn a hang into a failure (the tests run in the main thread, where signals arrive)."""

    def expired(_signum: int, _frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Names of the grammar's terminals and of Lark's internals; quoted user text is left out before looking.
TOKEN_NAMES = re.compile(
    r"\b(NAME|STRING|MONEY|PERCENT|NUMBER|INT|YESNO|NO_QUANT|ADD_OP|MUL_OP|LPAR|RPAR|COMMA|__ANON_\d+|_NL)\b|\$END|Token\(|Unexpected[A-Z]"
)
QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^']*'")


def token_names_in(message: str) -> str | None:
    found = TOKEN_NAMES.search(QUOTED.sub("", message))
    return found.group(0) if found else None


# --- (a) facts of every shape ---------------------------------------------------------------

HARINGEY_POLICY = load_policy(HARINGEY)
SMALL_POLICY = load_policy(SMALL)

ODD_CHARACTERS = [
    "\u200b",  # zero-width space
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\ufeff",  # byte order mark
    "\U0001f4a5",  # emoji
    "\x00",
    "\x07",
    "\x85",  # next line: a line break to str.splitlines, not to the parser
    "\u2028",  # line separator
    "\u0130",  # I with dot: changes length when lower-cased
    "\u00df",
    "\u03a9",
    "\uff11",  # fullwidth digit one
    "\u0663",  # Arabic-Indic digit three
    "\t",
    "\r",
    "\n",
    "\u00a3",
    "%",
    '"',
    "'",
    "\\",
    "(",
    ")",
    "[",
    "{",
]
SPECIAL_STRINGS = [
    "",
    " ",
    "yes",
    "No",
    "TRUE",
    "y",
    "n/a",
    "unknown",
    "?",
    "null",
    "None",
    "£1,200,000",
    "£ 5",
    "£-5",
    "-£5",
    "1,000",
    "1,00",
    "12.",
    ".5",
    "5%",
    "5 %",
    "-5%",
    "1e400",
    "1e-400",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "0x10",
    "\uff11\uff12",
    "\u0663",
    "2020-02-30",
    "2020-13-01",
    "2020-03-31",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "20200331",
    "[]",
    "[{}]",
    "{}",
    '[{"name": "Lifts", "specialist": true}]',
    '[{"name": "Lifts", "specialist": "maybe"}]',
    '[{"__class__": 1}]',
    "[1, 2, 3]",
    "[" * 500 + "]" * 500,
    "__import__('os').system('touch /tmp/pwned')",
    "{0.__class__.__mro__}",
    "%s%s%n",
    "low",
    "in_house",
]
HUGE_NUMBERS = [2**64, -(2**63), 10**30, Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e999999"), Decimal("1e-999999")]


class Big:
    """A value too large to show whole (a 5,000-digit integer, a 100,000-character text): made only when
    the case runs, so that Hypothesis shows it by its recipe and does not spend its time printing it."""

    def __init__(self, recipe: str, make: Callable[[], Any]) -> None:
        self.recipe = recipe
        self.make = make

    def __repr__(self) -> str:
        return self.recipe


BIG_VALUES = [
    Big("10**4301", lambda: 10**4301),
    Big("-10**5000", lambda: -(10**5000)),
    Big("'9' * 5000", lambda: "9" * 5000),
    Big("'-' + '9' * 5000", lambda: "-" + "9" * 5000),
    Big("'[' * 50_000 + ']' * 50_000", lambda: "[" * 50_000 + "]" * 50_000),
    Big("'x' * 100_000", lambda: "x" * 100_000),
    Big("[[[...]]] nested 5,000 deep", lambda: _nested(5_000)),
    Big("[{}] * 10_001", lambda: [{}] * 10_001),
]


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def realize(value: Any) -> Any:
    """The facts as they are given to the engine: each ``Big`` becomes the value it stands for."""
    if isinstance(value, Big):
        return value.make()
    if isinstance(value, list):
        return [realize(v) for v in value]
    if isinstance(value, dict):
        return {realize(k): realize(v) for k, v in value.items()}
    return value


odd_text = st.text(alphabet=st.sampled_from(ODD_CHARACTERS) | st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from(BIG_VALUES),
    st.floats(),  # NaN and the infinities included
    st.decimals(),
    odd_text,
    st.sampled_from(SPECIAL_STRINGS),
    st.dates(),
    st.datetimes(),
)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["name", "specialist"]) | odd_text, children, max_size=4),
    max_leaves=12,
)
typical_values = st.sampled_from(
    [True, False, "yes", "no", 0, 1, -1, 1000, "£1,000", "£5,000,000", 3.5, "5%", "2020-03-31", date(2021, 1, 1), None, "unknown", [], "Cleaning"]
)
values = st.one_of(typical_values, typical_values, json_like)

HARINGEY_FACTS = sorted(HARINGEY_POLICY.model.fact_types)
SMALL_FACTS = sorted(SMALL_POLICY.model.fact_types)
ODD_NAMES = ["__class__", "__dict__", "Service", "service ", " service", "annual_spend\u200b", "", "elements[0]", "elements.name", "eval", "import", "services"]


def fact_names(declared: list[str]) -> st.SearchStrategy[Any]:
    known = st.sampled_from(declared)
    return st.one_of(known, known, known, st.sampled_from(ODD_NAMES), odd_text, st.integers(), st.none(), st.booleans())


# Values of the declared type, mostly, so that most cases get past validation to the decision;
# short lists, since a long list whose items are decided is slow (see docs/robustness.md).
TYPED = {
    "yes/no": st.sampled_from([True, False, "yes", "no", "Yes", "N", "true", None, "unknown"]),
    "money": st.sampled_from([0, 1, 999_999, 1_000_000, "£1,000", "£4,650,000", "£5,000,000", "-£5", 2.5, "n/a"]) | st.integers(-(10**9), 10**9),
    "number": st.floats(-1e6, 1e6) | st.sampled_from(["3.5", "1,000", 0, 1e30, 10**28, "-" + "9" * 40]),
    "whole number": st.integers(-5, 500) | st.sampled_from(["12", "1,000", 10**28, -(10**40)]),
    "percentage": st.sampled_from(["5%", "0%", "-5%", "150%", "12.5%", "1" + "0" * 40 + "%"]),
    "date": st.dates() | st.sampled_from(["2020-03-31", "2024-02-29"]),
    "text": odd_text | st.sampled_from(["Facilities management", "Cleaning"]),
}
TOO_LONG = {
    "money": [BIG_VALUES[0], BIG_VALUES[2], Big("'£' + '9' * 5000", lambda: "£" + "9" * 5000)],
    "number": [BIG_VALUES[1], BIG_VALUES[3]],
    "whole number": [BIG_VALUES[0], BIG_VALUES[2]],
    "percentage": [Big("'9' * 5000 + '%'", lambda: "9" * 5000 + "%")],
    "text": [BIG_VALUES[0], BIG_VALUES[5]],
}
part = st.fixed_dictionaries({}, optional={"name": TYPED["text"], "specialist": TYPED["yes/no"]})
parts = st.lists(part, max_size=3) | st.lists(st.one_of(part, part, part, values), max_size=3) | json_like


def typed_value(kind: str, choices: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    if kind == "list":
        good = parts
    elif kind == "one of":
        good = st.sampled_from(list(choices))
    else:
        good = TYPED[kind]
    if kind in TOO_LONG:  # one time in twenty, a value of the right kind that is far too long
        good = st.integers(0, 19).flatmap(lambda i, kind=kind, good=good: st.sampled_from(TOO_LONG[kind]) if i == 0 else good)
    return st.integers(0, 39).flatmap(lambda i: values if i == 0 else good)  # now and then anything at all


def typed_facts(policy: Policy) -> st.SearchStrategy[dict[str, Any]]:
    kinds = {name: (t.kind, tuple(getattr(t, "values", ()) or ())) for name, t in policy.model.fact_types.items()}
    return st.lists(st.sampled_from(sorted(kinds)), unique=True, max_size=len(kinds)).flatmap(
        lambda names: st.fixed_dictionaries({name: typed_value(*kinds[name]) for name in names})
    )


as_of = st.one_of(st.none(), st.dates(), st.sampled_from(["2020-03-31", "2020-02-30", "", "tomorrow", "2020-3-1", "\u0662\u0660\u0662\u0660-01-01"]))


def check_decision_or_error(policy: Policy, facts: Any, when: Any) -> None:
    """``evaluate`` gives a decision that can be shown, or raises a located ``PolicyError``; nothing else."""
    facts = realize(facts)
    try:
        with time_limit(SECONDS_PER_CASE):
            decision = policy.evaluate(facts, when)
    except PolicyError as error:
        event(f"evaluate: {type(error).__name__}")
        assert str(error), "a PolicyError without a message"
        assert error.location, f"a PolicyError without a location: {error}"
        assert "Traceback" not in str(error)
        return
    event(f"evaluate: decided ({'undetermined' if decision.outcome == 'undetermined' else 'settled'})")
    assert isinstance(decision, Decision)
    json.dumps(decision.to_dict())  # what `--format json` prints
    render.explain_text(decision)
    render.summary_text(decision)


@fuzz_settings(0.6)
@given(facts=st.dictionaries(fact_names(HARINGEY_FACTS), values, max_size=6), when=as_of)
def test_haringey_facts_of_every_shape(facts: dict[Any, Any], when: Any) -> None:
    check_decision_or_error(HARINGEY_POLICY, facts, when)


@fuzz_settings(0.3)
@given(facts=typed_facts(HARINGEY_POLICY), when=st.none() | st.dates())
def test_haringey_facts_of_the_declared_types(facts: dict[str, Any], when: Any) -> None:
    """Mostly well-formed facts, with lists of parts and now and then an odd value: the decision itself is fuzzed."""
    check_decision_or_error(HARINGEY_POLICY, facts, when)


@fuzz_settings(0.4)
@given(facts=st.one_of(st.dictionaries(fact_names(SMALL_FACTS), values, max_size=5), json_like), when=as_of)
def test_small_example_facts_of_every_shape(facts: Any, when: Any) -> None:
    """Here the facts need not even be a mapping."""
    check_decision_or_error(SMALL_POLICY, facts, when)


# --- (b) mutated rule files -----------------------------------------------------------------

RULE_SETS = {"haringey": read_sources([HARINGEY]), "small-example": read_sources([SMALL])}
KEYWORDS = [
    "policy", "document", "fact", "record", "parameter", "define", "decision", "rule", "is", "not", "and", "or", "when", "then", "because",
    "cites", "section", "exception", "to", "by", "default", "outcomes", "for", "each", "in", "where", "any", "every", "no", "of", "at", "least",
    "yes/no", "money", "one", "list", "empty", "(", ")", ",", ".", "=", "<>", "+", "-", "*", "/", '"', "£", "5%", "2020-02-30", "£1,00",
    "__class__", "eval", "exec", "import", "__import__('os').system('touch /tmp/pwned')",
]  # fmt: skip
WORD = re.compile(r"\S+")
CASES = {"upper": str.upper, "lower": str.lower, "title": str.title, "swapcase": str.swapcase, "capitalize": str.capitalize}


class Mutation:
    """One change to a rule file, as data: Hypothesis shrinks it and shows it as ``delete_line(12)``.

    ``where`` and ``other`` pick a line, a word or a character, counted round
    the file (so that any number is a place in it); ``text`` is what is
    inserted; ``line`` widens a change of case to the whole line.
    """

    def __init__(self, kind: str, where: int, other: int, text: str, case: str, line: bool) -> None:
        self.kind, self.where, self.other, self.text, self.case, self.line = kind, where, other, text, case, line

    def __repr__(self) -> str:
        args = {
            "swap_lines": f"{self.where}, {self.other}",
            "swap_words": f"{self.where}, {self.other}",
            "replace_word": f"{self.where}, {self.text!r}",
            "insert": f"{self.where}, {self.text!r}",
            "change_case": f"{self.where}, {self.case!r}, whole_line={self.line}",
        }
        return f"{self.kind}({args.get(self.kind, self.where)})"

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        words = [m.span() for m in WORD.finditer(text)]
        if self.kind in ("delete_line", "duplicate_line", "swap_lines"):
            i, j = self.where % len(lines), self.other % len(lines)
            if self.kind == "delete_line":
                del lines[i]
            elif self.kind == "duplicate_line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            return "\n".join(lines)
        if self.kind in ("delete_word", "duplicate_word", "replace_word", "swap_words", "change_case"):
            if not words:
                return text
            a, b = words[self.where % len(words)]
            if self.kind == "delete_word":
                return text[:a] + text[b:]
            if self.kind == "duplicate_word":
                return text[:b] + " " + text[a:b] + text[b:]
            if self.kind == "replace_word":
                return text[:a] + self.text + text[b:]
            if self.kind == "change_case":
                if self.line:
                    a, b = text.rfind("\n", 0, a) + 1, (text.find("\n", b) + 1 or len(text) + 1) - 1
                return text[:a] + CASES[self.case](text[a:b]) + text[b:]
            (a, b), (c, d) = sorted([words[self.where % len(words)], words[self.other % len(words)]])
            if (a, b) == (c, d):
                return text
            return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        i = self.where % (len(text) + 1)
        if self.kind == "truncate":
            return text[:i]
        if self.kind == "delete_character":
            return text[:i] + text[i + 1 :]
        return text[:i] + self.text + text[i:]  # insert


MUTATION_KINDS = [
    "delete_line",
    "duplicate_line",
    "swap_lines",
    "delete_word",
    "duplicate_word",
    "swap_words",
    "replace_word",
    "change_case",
    "truncate",
    "insert",
    "delete_character",
]
inserted = st.one_of(
    st.sampled_from(ODD_CHARACTERS),
    st.sampled_from(KEYWORDS),
    st.characters(exclude_categories=("Cs",)),
    odd_text,
)
mutations = st.builds(
    Mutation,
    kind=st.sampled_from(MUTATION_KINDS),
    where=st.integers(0, 1 << 20),
    other=st.integers(0, 1 << 20),
    text=inserted,
    case=st.sampled_from(sorted(CASES)),
    line=st.booleans(),
)
RuleCase = tuple[str, str, list[Mutation]]
rule_cases = st.tuples(
    st.sampled_from(sorted(RULE_SETS)),
    st.integers(0, 100),
    st.lists(mutations, min_size=1, max_size=4),
).map(lambda t: (t[0], sorted(RULE_SETS[t[0]])[t[1] % len(RULE_SETS[t[0]])], t[2]))


def mutated(case: RuleCase) -> dict[str, str]:
    """The rule set's files, with the one file changed by each mutation in turn."""
    name, path, changes = case
    sources = dict(RULE_SETS[name])
    text = sources[path]
    for change in changes:
        text = change.apply(text)
    sources[path] = text
    return sources


def describe_mutation(name: str, sources: Mapping[str, str], path: str) -> str:
    original = RULE_SETS[name][path].splitlines(keepends=True)
    diff = difflib.unified_diff(original, sources[path].splitlines(keepends=True), path, f"{path} (mutated)", n=1)
    return "".join(diff)[:3000]


def write_rule_set(sources: Mapping[str, str], folder: Path) -> None:
    for shown, text in sources.items():
        target = folder / Path(shown).name
        target.write_bytes(text.encode("utf-8"))


def check_diagnostics(sources: Mapping[str, str], diagnostics: list[Any]) -> None:
    for d in diagnostics:
        assert d.span.path in sources, f"a diagnostic in a file that was not given: {d.format()}"
        assert d.span.line >= 1 and d.span.column >= 1, f"a diagnostic without a real place: {d.format()!r}"
        token = token_names_in(d.message)
        assert token is None, f"a message that names a grammar token ({token}): {d.format()!r}"
        assert d.message.strip(), f"an empty message at {d.span}"
        assert "Traceback" not in d.message


@fuzz_settings(1.0)
@given(case=rule_cases)
def test_mutated_rule_files_are_analysed(case: RuleCase) -> None:
    name, path, _changes = case
    sources = mutated(case)
    note(describe_mutation(name, sources, path))
    with time_limit(SECONDS_PER_CASE):
        result = analyse(sources, "t")  # must return: no exception of any kind
    model, diagnostics = result
    event(f"analyse: {'errors' if any(d.severity == 'error' for d in diagnostics) else 'no errors'}")
    check_diagnostics(sources, diagnostics)
    assert model is not None or any(d.severity == "error" for d in diagnostics), "no model and no error to say why"


@fuzz_settings(0.3)
@given(case=rule_cases)
def test_mutated_rule_files_load_or_raise_a_policy_error(case: RuleCase) -> None:
    name, path, _changes = case
    sources = mutated(case)
    note(describe_mutation(name, sources, path))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        write_rule_set(sources, folder)
        shown = {str(folder / Path(p).name): t for p, t in sources.items()}
        with time_limit(SECONDS_PER_CASE):
            _model, diagnostics = analyse(shown, "t")
        has_errors = any(d.severity == "error" for d in diagnostics)
        try:
            with time_limit(SECONDS_PER_CASE):
                policy = load_policy(folder)
        except RuleFileError as error:
            event("load_policy: RuleFileError")
            check_diagnostics(shown, list(error.diagnostics))
            return
        except PolicyError as error:
            event(f"load_policy: {type(error).__name__}")
            assert error.location, f"a PolicyError without a location: {error}"
            return
        event("load_policy: loaded")
        text = sources[path]
        if "\x00" not in text and not text.startswith("\ufeff"):
            assert not has_errors, "load_policy accepted rule files that analyse (and so `check`) reports errors in"
        facts = [{}, {"service": "A"}, json.loads(json.dumps(FACILITIES, default=str))]
        for raw in facts:
            check_decision_or_error(policy, raw, "2024-01-01")


FACILITIES = {
    "service": "Facilities management",
    "annual_spend": "£4,800,000",
    "in_house_annual_cost": "£4,650,000",
    "budget_available": "£5,000,000",
    "quality_concerns": True,
    "has_capacity": True,
    "has_capability": False,
    "nhs_expertise": False,
    "cost_in_house": "£120,000",
    "budget": "£100,000",
    "elements": [{"name": "Cleaning", "specialist": False}, {"name": "Lifts", "specialist": True}],
}


# --- (c) the real `check` on a sample of mutated files --------------------------------------


@fuzz_settings(0.03, minimum=10)
@given(case=rule_cases)
def test_check_command_on_mutated_files(case: RuleCase) -> None:
    name, path, _changes = case
    sources = mutated(case)
    note(describe_mutation(name, sources, path))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        write_rule_set(sources, folder)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "policy_rules.cli", "check", str(folder)],
                cwd=tmp,
                env={**os.environ, "NO_COLOR": "1"},
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                timeout=20,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("`policy-rules check` gave no answer within 20 s")
    output = done.stdout + done.stderr
    event(f"check: exit {done.returncode}")
    assert "Traceback" not in output, output[-2000:]
    assert "internal error" not in output, output[-2000:]
    assert done.returncode in (0, 1), f"exit status {done.returncode}:\n{output[-2000:]}"
