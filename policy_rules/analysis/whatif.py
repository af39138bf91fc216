"""``policy-rules whatif``: the fewest changes to a service's known facts that give a target outcome.

Its place: an optimisation over the symbolic form (``policy_rules.analysis.symbolic``)
with z3's ``Optimize``: every known fact (and every known field of a list
item) becomes a variable with a soft wish to keep its value, the outcome is
required to be the target without a conflict, and the solver breaks as few
wishes as it can. Facts not given stay not given: a change set is accepted
only when the evaluator, deciding the changed service with those facts still
missing, gives the target outright; otherwise it is ruled out and the next
smallest is tried (``ROUNDS`` times at most). Amounts are sought to the
penny, as a facts file writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs
import z3

from policy_rules.analysis.symbolic import Day, Encoder, Item, Names, SymList, World, WorldBuilder, atoms, day_of, field_types, service_of
from policy_rules.errors import ConflictError, UsageError
from policy_rules.values.types import Type, format_value

if TYPE_CHECKING:
    from policy_rules.api import Policy

#: How many change sets are tried before the answer is that none settles the outcome with the missing facts still missing.
ROUNDS = 12


@attrs.frozen
class Change:
    fact: str
    before: Any
    after: Any
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "from": _shown(self.before, self.kind), "to": _shown(self.after, self.kind)}


@attrs.frozen
class Answer:
    """The changes (empty when the service already has the target), or ``found`` false with why."""

    service: str | None
    target: str
    found: bool
    changes: tuple[Change, ...]
    outcome: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "target": self.target,
            "found": self.found,
            "changes": [c.to_dict() for c in self.changes],
            "outcome_after": self.outcome,
            "reason": self.reason,
        }

    def text(self) -> str:
        who = self.service or "the service"
        if not self.found:
            return f"{who}: no change to the known facts gives {self.target}: {self.reason}"
        if not self.changes:
            return f"{who}: already {self.target}; nothing needs to change"
        lines = [f"{who}: {len(self.changes)} change{'s' * (len(self.changes) != 1)} give{'s' * (len(self.changes) == 1)} {self.target}:"]
        lines.extend(f"  {c.fact}: {_shown(c.before, c.kind)} -> {_shown(c.after, c.kind)}" for c in self.changes)
        return "\n".join(lines)


def _shown(value: Any, kind: str) -> str:
    return format_value(value, kind)


class _Wishes:
    """The world of a service whose known facts may change: each a variable, with the wish to keep its value."""

    def __init__(self, policy: Policy, facts: Mapping[str, Any], as_of: date) -> None:
        model = policy.model
        self.names = Names()
        self.builder = WorldBuilder(model, self.names, "w!")
        self.builder.decimals = True
        self.keep: dict[str, tuple[Any, Any, Type]] = {}  # label -> (wish, value before, type)
        b = self.builder
        for name in model.facts:
            kind = model.fact_types[name]
            if name not in facts:
                if kind.kind == "list":
                    b.world.facts[name] = (SymList(0, []), False)
                    continue
                b.world.facts[name] = (b.free_value(name, kind, False, name), False)
                continue
            value = facts[name]
            if kind.kind == "list":
                types = field_types(model, kind.record)
                items = []
                for i, item in enumerate(value):
                    fields = {}
                    for field, ft in types.items():
                        label = f"{name}[{i}].{field}"
                        v = b.free_value(label, ft, field in item, f"{kind.record}.{field}")
                        if field in item:
                            self.wish(label, v, item[field], ft)
                        fields[field] = (v, field in item)
                    items.append(Item(fields))
                b.world.facts[name] = (SymList(len(items), items), True)
                continue
            v = b.free_value(name, kind, True, name)
            self.wish(name, v, value, kind)
            b.world.facts[name] = (v, True)
        b.world.today = day_of(as_of)

    @property
    def world(self) -> World:
        return self.builder.world

    def wish(self, label: str, variable: Any, value: Any, kind: Type) -> None:
        before = self.builder.constant(value, kind)
        if isinstance(variable, Day):
            same = variable.number == before.number
        else:
            same = variable == before
        self.keep[label] = (same if not isinstance(same, bool) else z3.BoolVal(same), value, kind)


def whatif(policy: Policy, raw: Mapping[str, Any], target: str, as_of: date, *, path: str = "<facts>", index: int = 0) -> Answer:
    """The smallest set of changes to the known facts of ``raw`` after which the policy decides ``target``."""
    model = policy.model
    outcomes = model.name_types[model.outcome].values if model.outcome else ()
    if target not in outcomes:
        raise UsageError(f"`{target}` is not an outcome of decision {model.outcome}; the outcomes are {', '.join(outcomes)}", "--target")
    typed, service = policy.facts_of(raw, path=path, index=index)
    now = _decide(policy, typed, service, as_of)
    if now == target:
        return Answer(service, target, True, (), target, "the service already has this outcome")
    wishes = _Wishes(policy, typed, as_of)
    encoder = Encoder(policy._lowered, wishes.world, wishes.names)
    result = encoder.result()
    opt = z3.Optimize()
    opt.add(*wishes.world.valid, *encoder.valid)
    opt.add(_b(result.outcome) == wishes.names.code(target) if not isinstance(result.outcome, int) else z3.BoolVal(result.outcome == wishes.names.code(target)))
    opt.add(z3.Not(_b(result.conflict)))
    for same, _before, _kind in wishes.keep.values():
        opt.add_soft(same, 1)
    tried = 0
    for _round in range(ROUNDS):
        if opt.check() != z3.sat:
            break
        tried += 1
        m = opt.model()
        changed = [label for label, (same, _b4, _k) in wishes.keep.items() if not z3.is_true(m.eval(same, model_completion=True))]
        after, _today = service_of(m, wishes.world, model, wishes.names)
        outcome = _decide(policy, after, service, as_of)
        if outcome == target:
            changes = tuple(Change(label, wishes.keep[label][1], _value_after(after, label), wishes.keep[label][2].kind) for label in changed)
            return Answer(service, target, True, changes, outcome, f"decided {target} after the changes")
        # With the facts still missing, these changes do not settle the outcome: rule them out and try the next smallest.
        opt.add(z3.Not(z3.And(*[_pinned(wishes, label, m) for label in changed])) if changed else z3.BoolVal(False))
    reason = "no values of the known facts give it" if tried == 0 else "each smallest change found leaves the outcome to facts still missing; give them first"
    return Answer(service, target, False, (), now, reason)


def _pinned(wishes: _Wishes, label: str, m: z3.ModelRef) -> Any:
    """The changed fact at the value the model gave it."""
    variable = wishes.world.variables[label][0]
    return z3.And(*[x == m.eval(x, model_completion=True) for x in atoms(variable)])


def _value_after(facts: Mapping[str, Any], label: str) -> Any:
    if "[" not in label:
        return facts.get(label)
    base, _, rest = label.partition("[")
    index, _, field = rest.partition("].")
    return facts[base][int(index)].get(field)


def _decide(policy: Policy, typed: Mapping[str, Any], service: str | None, as_of: date) -> str:
    try:
        return policy.decide_in_full(dict(typed), service, as_of, trace=False).outcome
    except ConflictError:
        return "conflict"


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x
