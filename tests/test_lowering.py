"""The lowered form: every form of the language lowers to the small set of IR nodes, names resolved, constants in one table."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_rules import load_policy
from policy_rules.engine import lowering as ir
from policy_rules.engine.codegen import APPLY
from policy_rules.engine.dates import Period
from policy_rules.engine.lowering import _Lowering, lower
from policy_rules.engine.values import DATE
from policy_rules.language import nodes as n
from tests import form_corpus as corpus
from tests.cli_helpers import HARINGEY
from tests.test_form_coverage import UNREACHABLE, expected_variants, variant_of


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lowering")


def _expected(e: Any, model: Any, lowering: _Lowering) -> tuple[type, Any]:
    """The IR node kind a variant must lower to, and what tells it apart (operator, slot kind, constant value)."""
    if isinstance(e, n.Literal):
        return ir.Const, Period(*e.value) if e.kind == "period" else e.value  # type: ignore[misc]
    if isinstance(e, n.Today):
        return ir.Read, ir.Slot("today", "today")
    if isinstance(e, n.DateDiff):
        return ir.Apply, f"{e.unit} from"
    if isinstance(e, n.Within):
        return ir.Apply, "not" if e.negated else "within"
    if isinstance(e, n.Arith) and model.type_of(e) == DATE:
        return ir.Apply, "date " + e.op if model.type_of(e.left) == DATE else "period +"
    if isinstance(e, n.Name):
        ref = model.refs[id(e)]
        return (ir.Const, ref.name) if ref.kind == "value" else (ir.Read, ir.Slot(ref.kind, ref.name))
    if isinstance(e, n.Field):
        return ir.Read, ir.Slot("field", e.field, e.item)
    if isinstance(e, n.Compare | n.Arith):
        return ir.Apply, e.op
    if isinstance(e, n.Not):
        return ir.Apply, "not"
    if isinstance(e, n.Neg):
        return ir.Apply, "neg"
    if isinstance(e, n.Between):
        return ir.Apply, "between"
    if isinstance(e, n.Member):
        return ir.Apply, "not in" if e.negated else "in"
    if isinstance(e, n.Length):
        return ir.Apply, "length"
    if isinstance(e, n.Test) and e.test == "empty":
        return ir.Apply, "not empty" if e.negated else "empty"
    if isinstance(e, n.Test):
        return ir.Known, e.negated
    if isinstance(e, n.BoolOp):
        return ir.Logic, e.op
    if isinstance(e, n.Over):
        return ir.Quantify, e.quantifier
    if isinstance(e, n.Extreme):
        return ir.Apply, e.which
    if isinstance(e, n.Rounded):
        return ir.Apply, f"rounded {e.direction} {e.unit}"
    if isinstance(e, n.ScaleApplied):
        return ir.Apply, "scale"
    if isinstance(e, n.Conditional):
        return ir.Choose, None
    if isinstance(e, n.Total):
        return ir.Total, (e.item, e.condition is not None)
    assert isinstance(e, n.CountOf)
    return ir.CountOf, (e.quantifier, e.at_least, e.reasons.name if e.reasons is not None else None)


def _found(node: Any, lowering: _Lowering) -> Any:
    if isinstance(node, ir.Const):
        return lowering.constants[node.index]
    if isinstance(node, ir.Read):
        return node.slot
    if isinstance(node, ir.Apply | ir.Logic):
        return node.op
    if isinstance(node, ir.Known):
        return node.negated
    if isinstance(node, ir.Quantify):
        return node.quantifier
    if isinstance(node, ir.Choose):
        return None
    if isinstance(node, ir.Total):
        return (node.item, node.condition is not None)
    return (node.quantifier, node.at_least, node.reasons.name if node.reasons is not None else None)


def test_every_variant_of_the_expression_ast_lowers_to_its_ir_node(folder: Path) -> None:
    seen: set[tuple[str, ...]] = set()
    for key in corpus.POLICIES:
        model = corpus.policy(key, folder).model
        lowering = _Lowering(model)
        for node, _items, _condition in corpus.expressions(model):
            lowered = lowering.expr(node)
            kind, mark = _expected(node, model, lowering)
            assert type(lowered) is kind, (variant_of(node, model), lowered)
            assert _found(lowered, lowering) == mark, variant_of(node, model)
            assert lowered.source is node
            seen.add(variant_of(node, model))
    assert seen == expected_variants() - set(UNREACHABLE)


def test_every_operator_lowered_has_one_template_in_the_generator(folder: Path) -> None:
    ops: set[str] = set()
    for key in corpus.POLICIES:
        lowered = lower(corpus.policy(key, folder).model)
        for define in lowered.defines.values():
            ops |= {x.op for x in ir.walk(define.body) if isinstance(x, ir.Apply)}
        for decision in lowered.decisions.values():
            for rule in _rules(decision.root):
                for root in (*(rule.condition.parts if rule.condition else ()), rule.conclusion):
                    ops |= {x.op for x in ir.walk(root) if isinstance(x, ir.Apply)}
    assert ops == set(APPLY) | {"in", "not in"}


def _rules(rule: ir.Rule) -> list[ir.Rule]:
    return [rule, *(r for x in rule.exceptions for r in _rules(x))]


MOVED = """
policy "moved"
  outcome d

fact a is yes/no
fact b is money
fact kind is one of x, y

decision d
  outcomes low, high, nil

rule base
  by default d is low

rule big
  exception to base
  when a and b > £1,000 and kind is one of (x, y)
  then d is high

rule nothing
  exception to big
  when not a
  then d is nil
"""


def test_equal_policies_lower_to_equal_trees_wherever_the_text_sits(tmp_path: Path) -> None:
    first, second = tmp_path / "first.rules", tmp_path / "second.rules"
    first.write_text(MOVED, encoding="utf-8")
    second.write_text("# the same rules, further down\n\n\n" + MOVED.replace("\n  when", "\n\n  when"), encoding="utf-8")
    one, two = lower(load_policy(first).model), lower(load_policy(second).model)
    assert one == two
    assert one.decisions["d"].root.source.span.line != two.decisions["d"].root.source.span.line


def test_rules_are_trees_and_conditions_are_split_into_the_parts_a_trace_shows(tmp_path: Path) -> None:
    path = tmp_path / "moved.rules"
    path.write_text(MOVED, encoding="utf-8")
    lowered = lower(load_policy(path).model)
    root = lowered.decisions["d"].root
    assert (root.label, root.level, root.condition) == ("base", 0, None)
    (big,) = root.exceptions
    (nothing,) = big.exceptions
    assert (big.label, big.level, nothing.label, nothing.level, nothing.exceptions) == ("big", 1, "nothing", 2, ())
    assert big.condition is not None and big.condition.split and len(big.condition.parts) == 3
    assert big.condition.whole == ir.Logic("and", big.condition.parts)
    a, more, member = big.condition.parts
    assert a == ir.Read(ir.Slot("fact", "a"))
    assert more == ir.Apply(">", (ir.Read(ir.Slot("fact", "b")), ir.Const(lowered.constants.index(Decimal(1000)))))
    assert member.op == "in" and [lowered.constants[o.index] for o in member.operands[1:]] == ["x", "y"]
    assert nothing.condition is not None and not nothing.condition.split
    assert nothing.condition.whole == ir.Apply("not", (a,))
    assert lowered.constants[big.conclusion.index] == "high"  # type: ignore[union-attr]


def test_constants_are_kept_once_in_the_table() -> None:
    lowered = lower(load_policy(HARINGEY).model)
    keys = [(type(c), c) for c in lowered.constants]
    assert len(keys) == len(set(keys))
    assert lowered.order[-1] in (lowered.outcome, lowered.priority, lowered.element_outcomes, lowered.reasons)


def test_reads_that_may_repeat_are_known_from_the_tree() -> None:
    fact = ir.Read(ir.Slot("fact", "a"))
    other = ir.Read(ir.Slot("fact", "b"))
    assert not ir.may_read_twice(ir.Logic("and", (fact, other)))
    assert ir.may_read_twice(ir.Logic("or", (fact, ir.Apply("not", (fact,)))))
    assert ir.may_read_twice(ir.Quantify("any", "e", ir.Slot("fact", "items"), ir.Read(ir.Slot("field", "f", "e"))))
    assert ir.may_read_twice(ir.CountOf("any", (fact,), 1, ir.Slot("define", "why")))
    assert not ir.may_read_twice(ir.CountOf("any", (fact, other), 1, None))
