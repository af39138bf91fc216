"""Every form of the language, in every mode of the engine, decided as the reference decides it.

The variants of the expression AST are found in the code itself: the node
classes of ``policy_rules.language.nodes`` (the ``Expr`` union), and within each the
operators, quantifiers, negations and literal kinds the builder can put in
it (read from ``builder.py``, the grammar's operator terminals and the
checker's kinds of name). A form added later fails ``test_every_variant...``
until the corpus (``tests/support/form_corpus.py``) uses it and makes it both true
and false (and unknown, where a form can be).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import re
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest

from policy_rules import Policy, PolicyError
from policy_rules.engine.decider import Decider
from policy_rules.language import builder, checker
from policy_rules.language import nodes as n
from policy_rules.language.resources import grammar_text
from policy_rules.values.types import UNKNOWN
from tests.support import form_corpus as corpus

# --- the variants, derived from the code --------------------------------------------------

#: Classes of ``nodes`` that are not expressions; a class in neither list is a new form to cover.
NOT_EXPRESSIONS = frozenset(
    {"Span", "TypeRef", "Citation", "ReasonsSet", "ForEach", "FieldDecl", "ParameterValue", "RuleFile", "NoValue", "ScaleType", "ScaleStep"}
)

#: Variants that no checked policy can contain, with the rule text that proves the checker refuses it.
UNREACHABLE = {
    ("Name", "ref=item"): "`j = k` compares two list items, which the checker refuses",
}
#: Variants whose nearest condition cannot take every truth value, and why.
NEVER_UNKNOWN = {
    ("Test", "known", "negated=False"): "`is known` asks whether a fact was given: always yes or no",
    ("Test", "known", "negated=True"): "`is not known` asks whether a fact was given: always yes or no",
}
#: Variants that can stand only outside any condition, so have no truth value to record.
OUTSIDE_CONDITIONS = {
    ("Literal", "kind=list"): "`empty` can only be a defined value or a conclusion: lists are not compared, only tested with `is empty`",
}


def _constants(node: ast.AST, tree: ast.Module, function: ast.FunctionDef | None) -> set[Any] | None:
    """The constant values an argument of a builder call can have, or None when it comes from the text (a name)."""
    if isinstance(node, ast.Constant):
        return {node.value}
    if isinstance(node, ast.IfExp):
        a, b = _constants(node.body, tree, function), _constants(node.orelse, tree, function)
        return None if a is None or b is None else a | b
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        table = _module_dict(tree, node.value.id)
        return set(table.values()) if table is not None else None
    if isinstance(node, ast.Name) and function is not None:
        names = [a.arg for a in function.args.args]
        if node.id in names:
            position = names.index(node.id) - 1  # ``self`` is not passed
            found: set[Any] = set()
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == function.name:
                    if position < len(call.args):
                        values = _constants(call.args[position], tree, None)
                    else:
                        default = function.args.defaults[position + 1 - len(names) + len(function.args.defaults)]
                        values = _constants(default, tree, None)
                    if values is None:
                        return None
                    found |= values
            return found
    return None


def _module_dict(tree: ast.Module, name: str) -> dict[Any, Any] | None:
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and isinstance(stmt.value, ast.Dict):
            return ast.literal_eval(stmt.value)
    return None


def _grammar_operators(terminal: str) -> set[str]:
    """The alternatives of a grammar terminal such as ``ADD_OP: "+" | "-"``."""
    line = re.search(rf"^{terminal}:(.*)$", grammar_text(), re.MULTILINE)
    assert line is not None, f"the grammar has no terminal {terminal}"
    return set(re.findall(r'"([^"]+)"', line.group(1)))


def _reference_kinds() -> set[str]:
    """What a name can refer to: the kinds ``checker`` gives a ``Ref``."""
    tree = ast.parse(inspect.getsource(checker))
    kinds: set[str] = set()
    for node in ast.walk(tree):
        is_ref = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Ref"
        if is_ref and node.args and isinstance(node.args[0], ast.Constant):
            kinds.add(node.args[0].value)
        if isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) and isinstance(node.iter, ast.Tuple):
            for element in node.iter.elts:
                if isinstance(element, ast.Tuple) and isinstance(element.elts[0], ast.Constant) and "Ref" in ast.unparse(node):
                    kinds.add(element.elts[0].value)
    return kinds


def expression_classes() -> list[type]:
    return list(typing.get_args(n.Expr))


def expected_variants() -> set[tuple[str, ...]]:
    """Every variant of every expression form, as ``(Class, field=value, ...)``."""
    tree = ast.parse(inspect.getsource(builder))
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    domains: dict[str, dict[str, set[Any]]] = {}
    free: set[tuple[str, str]] = set()  # fields some call fills from the text (names, spellings): not variants
    for function in functions.values():
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
                continue
            if call.func.value.id != "n" or call.func.attr not in {c.__name__ for c in expression_classes()}:
                continue
            cls = getattr(n, call.func.attr)
            fields = [f for f in attrs.fields(cls) if f.name != "span"]
            for field, arg in zip(fields, call.args, strict=False):
                if field.type in ("str", "bool"):
                    values = _constants(arg, tree, function)
                    if values is None:
                        free.add((cls.__name__, field.name))
                    else:
                        domains.setdefault(cls.__name__, {}).setdefault(field.name, set()).update(values)
    for cls_name, field_name in free:
        domains.get(cls_name, {}).pop(field_name, None)
    domains["Arith"] = {"op": _grammar_operators("ADD_OP") | _grammar_operators("MUL_OP")}
    domains["Name"] = {"ref": _reference_kinds()}
    # ``item.NAME`` is a field of the item, or a decision made for each item read for it (``part.part_cost``): the checker tells which.
    domains["Field"] = {"reads": {"field", "decision"}}
    variants: set[tuple[str, ...]] = set()
    for cls in expression_classes():
        fields = domains.get(cls.__name__, {})
        optional = [f.name for f in attrs.fields(cls) if isinstance(f.type, str) and f.type.endswith("| None")]
        main = _main_axis(cls)
        ordered = sorted(fields.items(), key=lambda f: (f[0] != main, f[0]))
        axes = [[v if name == main else f"{name}={v}" for v in sorted(values, key=str)] for name, values in ordered]
        axes += [[f"{name}=given", f"{name}=none"] for name in optional]
        for combination in itertools.product(*axes):
            variants.add((cls.__name__, *combination))
    return variants


def _main_axis(cls: type) -> str:
    """The field that names a form's operator, shown bare in a variant (``("Compare", "<")``)."""
    return {"Compare": "op", "Arith": "op", "BoolOp": "op", "CountOf": "quantifier", "Over": "quantifier", "Test": "test"}.get(cls.__name__, "")


def variant_of(e: Any, model: Any) -> tuple[str, ...]:
    """The variant one node of a checked policy is, in the form ``expected_variants`` lists."""
    name = type(e).__name__
    if isinstance(e, n.Name):
        return (name, f"ref={model.refs[id(e)].kind}")
    if isinstance(e, n.Literal):
        return (name, f"kind={e.kind}")
    if isinstance(e, n.Member | n.Within):
        return (name, f"negated={e.negated}")
    if isinstance(e, n.DateDiff):
        return (name, f"unit={e.unit}")
    if isinstance(e, n.Test):
        return (name, e.test, f"negated={e.negated}")
    if isinstance(e, n.CountOf):
        return (name, e.quantifier, f"reasons={'given' if e.reasons is not None else 'none'}")
    if isinstance(e, n.Compare | n.Arith | n.BoolOp):
        return (name, e.op)
    if isinstance(e, n.Over):
        return (name, e.quantifier)
    if isinstance(e, n.Field):
        return (name, f"reads={'decision' if id(e) in model.item_decisions else 'field'}")
    if isinstance(e, n.Extreme):
        return (name, f"listed={e.listed}", f"which={e.which}")
    if isinstance(e, n.Total):
        return (name, f"condition={'given' if e.condition is not None else 'none'}")
    return (name,)


# --- running the corpus --------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forms")


class _Counted:
    """Counts the calls of the engine's ``decide_in_full`` for one policy: each is a fall back from the generated code.

    A call with the facts of a reference already worked out (``known``, filled
    by ``_reference``) is given that reference's decision: the fall back is the
    reference's own function, so what is tested is that a mode falls back and
    shows its answer as the reference does; working out the same search seven
    times over was most of this test's minute.
    """

    def __init__(self, policy: Policy, known: dict[str, Any] | None = None) -> None:
        self.engine = policy._engine
        self.known = {} if known is None else known
        self.calls = 0

    def __enter__(self) -> _Counted:
        full = Decider.decide_in_full.__get__(self.engine)

        def counted(facts: Any, service: Any, as_of: date, *, trace: bool = True) -> Any:
            self.calls += 1
            found = self.known.get(_key(facts, service, as_of, trace))
            return found if found is not None else full(facts, service, as_of, trace=trace)

        self.engine.decide_in_full = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.engine.decide_in_full


def _key(facts: Any, service: Any, as_of: date, trace: bool) -> str:
    """The same validated facts (whatever shape they were given in), service, date and trace as one text."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple(sorted((str(k), plain(v)) for k, v in value.items()))
        if isinstance(value, list | tuple):
            return tuple(plain(v) for v in value)
        return repr(value)

    return repr((plain(facts), service, as_of, trace))


def _complete(policy: Policy, raw: dict[str, Any]) -> bool:
    """Whether every fact (and every field of every list item) is known: the generated code must then decide alone."""
    model = policy.model
    typed, _service = policy.facts_of(raw)
    for name, t in model.fact_types.items():
        if name not in typed:
            return False
        if t.kind == "list":
            fields = {f.name for f in model.records[t.record or ""].fields}
            if any(set(item) != fields for item in typed[name]):
                return False
    return True


def _is_error(result: Any) -> bool:
    return isinstance(result, tuple)


def _reference(policy: Policy, raw: dict[str, Any], as_of: date, trace: bool, index: int = 0, known: dict[str, Any] | None = None) -> Any:
    def decide() -> Any:
        facts, service = policy.facts_of(raw, index=index)
        decision = policy.decide_in_full(facts, service, as_of, trace=trace)
        if known is not None:
            known[_key(facts, service, as_of, trace)] = decision
        return decision

    return corpus.outcome(decide)


@pytest.mark.parametrize("key", sorted(corpus.POLICIES))
def test_every_mode_decides_the_corpus_as_the_reference_does(folder: Path, key: str) -> None:
    policy = corpus.policy(key, folder)
    rows = corpus.cases(key)
    compared = fell_back = 0
    known: dict[str, Any] = {}
    for as_of in corpus.AS_OF:
        for shape in (dict, corpus.as_text, corpus.in_other_shapes):
            given = [shape(row) for row in rows]
            off = [_reference(policy, raw, as_of, False, known=known) for raw in given]
            on = [_reference(policy, raw, as_of, True, known=known) for raw in given]
            for index, raw in enumerate(given):
                with _Counted(policy, known) as counted:
                    assert corpus.outcome(lambda raw=raw, as_of=as_of: policy.evaluate(raw, as_of, trace=False)) == off[index], (key, as_of, raw)
                    assert corpus.outcome(lambda raw=raw, as_of=as_of: policy.evaluate(raw, as_of, trace=True)) == on[index], (key, as_of, raw)
                if not _is_error(off[index]) and _complete(policy, raw):
                    assert counted.calls == 0, f"the generated code gave up on complete facts {raw}"
                else:
                    fell_back += counted.calls > 0
                compared += 1
            with _Counted(policy, known):
                for trace, expected in ((False, off), (True, on)):
                    one = [policy.evaluate_many([raw], as_of, trace=trace) for raw in given]
                    decided = [corpus.outcome(functools.partial(next, iter(batch))) for batch in one]
                    assert decided == expected, (key, as_of, trace)
                clean = [raw for raw, result in zip(given, off, strict=True) if not _is_error(result)]
                expected = [_reference(policy, raw, as_of, False, index) for index, raw in enumerate(clean)]
                assert [d.to_dict() for d in policy.evaluate_many(clean, as_of)] == expected, (key, as_of)
    assert compared == len(rows) * len(corpus.AS_OF) * 3
    assert fell_back > 0  # the corpus has cases only the full path decides (facts missing)


def test_the_corpus_is_varied(folder: Path) -> None:
    """The corpus reaches every outcome, errors of both kinds, and needed facts: a mutant cannot hide in a case never made."""
    seen: dict[str, set[Any]] = {}
    for key in corpus.POLICIES:
        policy = corpus.policy(key, folder)
        for raw in corpus.cases(key):
            result = _reference(policy, raw, corpus.AS_OF[2], False)
            if _is_error(result):
                seen.setdefault("errors", set()).add(result[1])
            else:
                seen.setdefault(f"{key} outcome", set()).add(result["outcome"])
                seen.setdefault(f"{key} needed", set()).add(bool(result["needed_facts"]))
    assert seen["errors"] == {"ConflictError", "EvaluationError"}
    assert seen["scalars outcome"] == {"keep", "grow", "cut", "pause", "review", "undetermined"}
    assert seen["lists outcome"] == {"keep", "grow", "cut", "pause", "undetermined"}
    assert seen["scalars needed"] == seen["lists needed"] == {True, False}


def _covered(folder: Path) -> dict[tuple[str, ...], set[Any]]:
    """For each variant used in the corpus, the truth values its nearest condition took (True, False, UNKNOWN)."""
    covered: dict[tuple[str, ...], set[Any]] = {}
    for key in corpus.POLICIES:
        policy = corpus.policy(key, folder)
        model = policy.model
        for node, _items, _condition in corpus.expressions(model):
            covered.setdefault(variant_of(node, model), set())
        for raw in corpus.cases(key):
            for as_of in corpus.AS_OF[1:]:
                for node, value in corpus.truths(policy, raw, as_of):
                    covered[variant_of(node, model)].add("unknown" if value is UNKNOWN else bool(value))
    return covered


def test_every_variant_of_the_expression_ast_is_in_the_corpus_true_false_and_unknown(folder: Path) -> None:
    expected = expected_variants() - set(UNREACHABLE)
    covered = _covered(folder)
    missing = sorted(expected - set(covered))
    assert not missing, "variants of the expression AST that no corpus rule uses: " + ", ".join(" ".join(v) for v in missing)
    assert set(covered) <= expected | set(UNREACHABLE), f"variants the enumeration does not know: {sorted(set(covered) - expected)}"
    short = []
    for variant in sorted(expected):
        wanted = {True, False, "unknown"}
        if variant in NEVER_UNKNOWN:
            wanted = {True, False}
        if variant in OUTSIDE_CONDITIONS:
            wanted = set()
        if not wanted <= covered[variant]:
            short.append(f"{' '.join(variant)} (never {', '.join(sorted(map(str, wanted - covered[variant])))})")
    assert not short, "variants the corpus never makes take each truth value: " + "; ".join(short)


def test_every_class_of_nodes_is_an_expression_or_known_not_to_be() -> None:
    classes = {name for name, value in vars(n).items() if isinstance(value, type) and attrs.has(value) and value.__module__ == n.__name__}
    declarations = {c.__name__ for c in typing.get_args(n.Declaration)}
    expressions = {c.__name__ for c in expression_classes()}
    unknown = classes - declarations - expressions - NOT_EXPRESSIONS
    assert not unknown, f"node classes neither expressions nor known to be something else: {sorted(unknown)}; add them to the corpus"


def test_the_enumeration_finds_what_the_builder_makes() -> None:
    """The enumeration is read from the code: spot-check that it found each operator set, so a broken reading cannot pass as full coverage."""
    variants = expected_variants()
    assert {v[1] for v in variants if v[0] == "Compare"} == {"=", "<>", "<", "<=", ">", ">="}
    assert {v[1] for v in variants if v[0] == "Arith"} == {"+", "-", "*", "/"}
    assert {v[1] for v in variants if v[0] == "BoolOp"} == {"and", "or"}
    assert {v[1:] for v in variants if v[0] == "CountOf"} == {(q, f"reasons={r}") for q in ("any", "all", "none", "at_least") for r in ("given", "none")}
    assert {v[1] for v in variants if v[0] == "Over"} == {"any", "every", "no", "count"}
    assert {v[1:] for v in variants if v[0] == "Test"} == {(t, f"negated={b}") for t in ("empty", "known") for b in (False, True)}
    assert {v[1] for v in variants if v[0] == "Member"} == {"negated=False", "negated=True"}
    assert {v[1] for v in variants if v[0] == "Name"} == {f"ref={k}" for k in ("fact", "define", "parameter", "decision", "value", "item")}
    kinds = {"yes/no", "money", "percentage", "date", "period", "number", "whole number", "text", "list"}
    assert {v[1] for v in variants if v[0] == "Literal"} == {f"kind={k}" for k in kinds}
    assert {v for v in variants if v[0] in ("Not", "Neg", "Length")} == {("Not",), ("Neg",), ("Length",)}
    assert {v for v in variants if v[0] == "Field"} == {("Field", "reads=field"), ("Field", "reads=decision")}
    extremes = {("Extreme", f"listed={listed}", f"which={which}") for listed in (False, True) for which in ("greater", "smaller")}
    assert {v for v in variants if v[0] == "Extreme"} == extremes
    assert {v[0] for v in variants} == {c.__name__ for c in expression_classes()}


@pytest.mark.parametrize("text", ["j = k", "j is known"])
def test_a_bare_list_item_is_refused_so_its_variant_is_unreachable(errors: Any, text: str) -> None:
    found = errors(f"""
        policy "p"
          outcome d
        record job
          field big is yes/no
        fact jobs is list of job
        define x as any j in jobs where (any k in jobs where {text})
        decision d
          outcomes a, b
        rule r
          by default d is a
        rule s
          exception to r
          when x
          then d is b
        """)
    assert found, f"`{text}` with list items j and k should be refused"


@pytest.mark.parametrize(
    ("missing", "expected"),
    [("l1", ("keep", [])), ("l2", ("undetermined", ["l2"])), ("l3", ("keep", [])), ("l4", ("undetermined", ["l4"]))],
)
def test_a_missing_fact_bounded_from_both_sides_is_needed_only_when_the_bounds_meet(folder: Path, missing: str, expected: tuple[str, list[str]]) -> None:
    """``amount < l1 and l1 <= amount`` can never hold, ``amount <= l2 and l2 <= amount`` holds at one value.

    With the fact missing every mode takes the reference's own search, so
    only a pinned answer catches a wrong bound there (a differential test cannot).
    """
    policy = corpus.policy("bounds", folder)
    facts = {"amount": 100, "l1": 10**6, "l2": 10**6, "l3": 10**6, "l4": 10**6}
    del facts[missing]
    for trace in (False, True):
        decision = policy.evaluate(facts, corpus.AS_OF[2], trace=trace)
        assert (decision.outcome, list(decision.needed_facts)) == expected


def _condition_parts(model: Any) -> list[tuple[n.Expr, tuple[str, ...]]]:
    """Every rule condition and each of its parts (the operands of a top-level ``and``/``or``), with the list items in scope."""
    found = []
    for rule in model.rules.values():
        if rule.condition is None:
            continue
        decision = model.decisions[rule.decision.name]
        items = (decision.for_each.item,) if decision.for_each else ()
        parts = rule.condition.operands if isinstance(rule.condition, n.BoolOp) else ()
        found.extend((node, items) for node in (rule.condition, *parts))
    return found


def _generated_or_error(fn: Any, env: Any) -> Any:
    try:
        return fn(env)
    except PolicyError as error:
        return ("error", type(error).__name__)
    except Exception as error:  # a conflict (the evaluator's own exception): the oracle raises its own
        return ("error", "conflict" if type(error).__name__ == "_Conflict" else repr(error))


def _oracle_or_error(oracle: corpus.Oracle, node: n.Expr, binding: dict[str, Any]) -> Any:
    try:
        return oracle.value(node, binding)
    except corpus.OracleConflict:
        return ("error", "conflict")
    except (ArithmeticError, StopIteration):
        return ("error", "EvaluationError")


@pytest.mark.parametrize("key", sorted(corpus.POLICIES))
def test_the_generated_three_valued_functions_agree_with_the_independent_oracle(folder: Path, key: str) -> None:
    """The reference the modes are tested against is itself generated; each of its conditions is checked here against ``Oracle``, written apart."""
    from policy_rules.engine.evaluator import Env

    policy = corpus.policy(key, folder)
    compiled = policy._compiled
    parts = _condition_parts(compiled.model)
    assert parts and all(id(node) in compiled.parts for node, _items in parts)
    compared = unknown = 0
    for raw in corpus.cases(key):
        typed, service = policy.facts_of(raw)
        for as_of in corpus.AS_OF:
            oracle = corpus.Oracle(compiled, typed, as_of)
            for node, items in parts:
                for binding in corpus._bindings(compiled, typed, items):
                    env = Env(compiled, typed, as_of, service=service)
                    env.items.update(binding)
                    generated = _generated_or_error(compiled.parts[id(node)], env)
                    assert generated == _oracle_or_error(oracle, node, binding), (key, as_of, raw, node.span)
                    compared += 1
                    unknown += generated is UNKNOWN
    assert compared > 1000 and unknown > 0


@pytest.mark.parametrize("key", sorted(corpus.POLICIES))
def test_the_columnar_mode_decides_the_corpus_as_the_reference_does(folder: Path, key: str) -> None:
    """The columnar mode (``Policy.decide_columns``) on every form of the corpus: each output field of each row is the reference's, trace off."""
    from policy_rules.engine import columnar
    from tests.engine.test_columnar import expected_row

    policy = corpus.policy(key, folder)
    rows = []
    for raw in corpus.cases(key):
        try:
            columnar.table_of(policy.model, [raw])
        except (ValueError, ArithmeticError):
            continue  # text where a typed column holds an amount: a reader's error, not a decision
        rows.append(raw)
    for as_of in corpus.AS_OF:
        reference = [_reference(policy, raw, as_of, False) for raw in rows]
        clean = [raw for raw, result in zip(rows, reference, strict=True) if not _is_error(result)]
        expected = [expected_row(policy, policy.decide_in_full(*policy.facts_of(raw, index=i), as_of, trace=False)) for i, raw in enumerate(clean)]
        assert policy.decide_columns(columnar.table_of(policy.model, clean), as_of).to_pylist() == expected, (key, as_of)
