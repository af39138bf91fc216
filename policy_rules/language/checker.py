"""The checker: an ordered list of named checks over the AST of a whole policy.

Each check reads the AST (and what earlier checks resolved) and reports
diagnostics; none stops at the first problem. What the checks learn (the type
of every expression, what every name refers to, the exception tree of every
decision) is kept in a ``PolicyModel`` for the compiler.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs

from policy_rules.engine.values import (
    DATE,
    ERROR,
    MONEY,
    NUMBER,
    PERCENTAGE,
    PERIOD,
    REASONS,
    TEXT,
    WHOLE,
    YES_NO,
    Type,
)
from policy_rules.errors import Diagnostic, did_you_mean, source_line, text_lines
from policy_rules.language import nodes as n
from policy_rules.language import scales


@attrs.frozen
class Ref:
    """What a name in an expression refers to."""

    kind: str  # "fact" | "define" | "parameter" | "decision" | "value" | "item"
    name: str


@attrs.define
class PolicyModel:
    """Everything the checker learnt about a policy, for the compiler."""

    title: str
    version: str
    header: n.PolicyHeader | None
    sources: dict[str, str]
    documents: dict[str, n.DocumentDecl] = attrs.Factory(dict)
    records: dict[str, n.RecordDecl] = attrs.Factory(dict)
    facts: dict[str, n.FactDecl] = attrs.Factory(dict)
    fact_types: dict[str, Type] = attrs.Factory(dict)
    parameters: dict[str, n.ParameterDecl] = attrs.Factory(dict)
    defines: dict[str, n.DefineDecl] = attrs.Factory(dict)
    decisions: dict[str, n.DecisionDecl] = attrs.Factory(dict)
    rules: dict[str, n.RuleDecl] = attrs.Factory(dict)
    rules_of: dict[str, list[str]] = attrs.Factory(dict)
    children: dict[str, list[str]] = attrs.Factory(dict)
    default_rule: dict[str, str] = attrs.Factory(dict)
    refs: dict[int, Ref] = attrs.Factory(dict)
    types: dict[int, Type] = attrs.Factory(dict)
    name_types: dict[str, Type] = attrs.Factory(dict)
    outcome: str | None = None
    priority: str | None = None
    reasons: str | None = None
    element_outcomes: str | None = None
    #: The values every decision reports (``results grant, contribution``), in the order the header names them.
    results: tuple[str, ...] = ()
    service_name: str | None = None
    used: set[str] = attrs.Factory(set)
    #: The least value of each bounded fact (by name) and record field (``record.field``), with the bound as written: money is at least £0
    #: unless declared ``may be negative``; ``at least VALUE`` sets another bound.
    minimums: dict[str, tuple[Decimal, str]] = attrs.Factory(dict)
    #: Whether any rule reads ``today``, the date of the decision.
    uses_today: bool = False
    diagnostics: list[Diagnostic] = attrs.Factory(list)

    def error(self, span: n.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic("error", span, message, source_line(self.sources.get(span.path, ""), span.line)))

    def warning(self, span: n.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic("warning", span, message, source_line(self.sources.get(span.path, ""), span.line)))

    def declared_names(self) -> list[str]:
        return [*self.facts, *self.defines, *self.parameters, *self.decisions]

    def type_of(self, expr: object) -> Type:
        return self.types.get(id(expr), ERROR)


Check = Callable[[PolicyModel, list[n.RuleFile]], None]


def type_from_ref(t: n.TypeRef) -> Type:
    if t.kind == "one of":
        return Type("one of", values=t.values)
    if t.kind == "list":
        return Type("list", record=t.record)
    return Type(t.kind)


def _article(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _words(t: Type) -> str:
    """The type in a sentence, with the right article for an item (``an element``)."""
    if t.kind == "item" and t.record:
        return _article(t.record)
    return t.words


def _hint_or(hint: str, advice: str) -> str:
    """A "did you mean" hint when there is one, otherwise the advice."""
    return hint or f"; {advice}"


def _decls(files: list[n.RuleFile]) -> Iterable[n.Declaration]:
    """Every declaration; a first-of table is the rules it means, each checked as a rule is."""
    for f in files:
        for d in f.declarations:
            if isinstance(d, n.TableDecl):
                yield from d.rules
            else:
                yield d


def _decl_kind(d: n.Declaration) -> str:
    return {
        n.FactDecl: "fact",
        n.DefineDecl: "defined value",
        n.ParameterDecl: "parameter",
        n.DecisionDecl: "decision",
        n.RecordDecl: "record",
        n.DocumentDecl: "document",
    }.get(type(d), "declaration")


# --- 1. declarations are unique ----------------------------------------------------


def check_duplicates(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Collect declarations by name; a name or rule label declared twice is an error."""
    seen: dict[str, n.Declaration] = {}
    for d in _decls(files):
        if isinstance(d, n.PolicyHeader):
            if model.header is not None:
                model.error(d.span, f"a second policy header; the policy is already named at {model.header.span}")
            else:
                model.header = d
            continue
        if isinstance(d, n.RuleDecl):
            if d.label in model.rules:
                model.error(d.span, f"the rule label `{d.label}` is already used at {model.rules[d.label].span}; every rule needs its own label")
            else:
                model.rules[d.label] = d
            continue
        name = d.name
        namespace_key = f"record:{name}" if isinstance(d, n.RecordDecl) else f"document:{name}" if isinstance(d, n.DocumentDecl) else name
        if namespace_key in seen:
            first = seen[namespace_key]
            model.error(d.span, f"`{name}` is already declared as a {_decl_kind(first)} at {first.span}; choose another name")
            continue
        seen[namespace_key] = d
        if isinstance(d, n.FactDecl):
            model.facts[name] = d
        elif isinstance(d, n.DefineDecl):
            model.defines[name] = d
        elif isinstance(d, n.ParameterDecl):
            model.parameters[name] = d
        elif isinstance(d, n.DecisionDecl):
            model.decisions[name] = d
        elif isinstance(d, n.RecordDecl):
            model.records[name] = d
        elif isinstance(d, n.DocumentDecl):
            model.documents[name] = d


# --- 2. types as declared -------------------------------------------------------------


def _check_type_ref(model: PolicyModel, t: n.TypeRef) -> Type:
    if t.kind == "list" and t.record not in model.records:
        advice = f"declare it with `record {t.record}` and its fields"
        model.error(t.span, f"there is no record called `{t.record}`{_hint_or(did_you_mean(t.record or '', model.records), advice)}")
        return ERROR
    if t.kind == "one of":
        seen: set[str] = set()
        for value in t.values:
            if value in seen:
                model.error(t.span, f"the value `{value}` is listed twice")
            seen.add(value)
    return type_from_ref(t)


def _literal_fits(literal: n.Literal, expected: Type) -> bool:
    if expected.kind == "list":
        return literal.kind == "list"
    if expected.kind == "one of":
        return literal.kind == "text" and literal.value in expected.values
    if expected.kind in ("number", "percentage"):
        return literal.kind in ("number", "whole number", "percentage")
    if expected.kind == "whole number":
        return literal.kind == "whole number"
    return literal.kind == expected.kind


_BOUNDED_KINDS = frozenset({"number", "whole number", "money", "percentage"})


def _check_bound(model: PolicyModel, decl: n.FactDecl | n.FieldDecl, t: Type, where: str, key: str) -> None:
    """A fact's or field's least value (``at least``, or £0 for money not declared ``may be negative``), which its default must respect."""
    if t is ERROR:
        return
    if (decl.minimum is not None or decl.negative) and t.kind not in _BOUNDED_KINDS:
        if decl.minimum is not None:
            model.error(decl.minimum.span, f"`at least` bounds an amount, a number or a percentage; {where} is {t.words}")
        else:
            model.error(decl.span, f"only an amount, a number or a percentage may be negative; {where} is {t.words}")
        return
    if decl.minimum is not None and decl.negative:
        model.error(decl.span, f"{where} says both `may be negative` and `at least`; keep one")
        return
    if decl.minimum is not None and not _literal_fits(decl.minimum, t):
        model.error(decl.minimum.span, f"the bound `{decl.minimum.text}` is not {_words(t)}, the type of {where}")
        return
    if decl.minimum is not None:
        bound = (Decimal(decl.minimum.value), decl.minimum.text)  # type: ignore[arg-type]
    elif t.kind == "money" and not decl.negative:
        bound = (Decimal(0), "£0")
    else:
        return
    model.minimums[key] = bound
    default = decl.default
    if default is not None and _literal_fits(default, t) and isinstance(default.value, Decimal) and default.value < bound[0]:
        model.error(default.span, f"the default `{default.text}` is less than {bound[1]}, the least {where} can be")


def check_declared_types(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Fact, field and parameter types name real records; defaults and values fit their type."""
    for record in model.records.values():
        names: set[str] = set()
        for field in record.fields:
            if field.name in names:
                model.error(field.span, f"the field `{field.name}` is declared twice in record `{record.name}`")
            names.add(field.name)
            if field.type.kind == "list":
                model.error(field.type.span, "a field cannot itself be a list; lists of records may not be nested")
            t = _check_type_ref(model, field.type)
            where = f"field `{field.name}` of record `{record.name}`"
            if field.default is not None and t is not ERROR and not _literal_fits(field.default, t):
                model.error(field.default.span, f"the default `{field.default.text}` is not {_words(t)}, the type of {where}")
            _check_bound(model, field, t, where, f"{record.name}.{field.name}")
    for fact in model.facts.values():
        t = _check_type_ref(model, fact.type)
        model.fact_types[fact.name] = t
        model.name_types[fact.name] = t
        if fact.default is not None and t is not ERROR and not _literal_fits(fact.default, t):
            if t.kind == "one of":
                values = ", ".join(t.values)
                advice = f'write one of them in quotes, like "{t.values[0]}"'
                model.error(fact.default.span, f"the default `{fact.default.text}` is not one of the values of fact `{fact.name}`: {values}; {advice}")
            else:
                model.error(fact.default.span, f"the default `{fact.default.text}` is not {_words(t)}, the type of fact `{fact.name}`")
        _check_bound(model, fact, t, f"fact `{fact.name}`", fact.name)
    for param in model.parameters.values():
        _check_ends(model, param)
        if isinstance(param.type, n.ScaleType):
            model.name_types[param.name] = scales.scale_type(param)
            continue
        t = _check_type_ref(model, param.type)
        model.name_types[param.name] = t
        if t.kind == "list":
            model.error(param.type.span, "a parameter holds one value, not a list")
        if not param.values:
            model.error(param.span, f"parameter `{param.name}` has no value; add `value ... from YYYY-MM-DD`")
        periods = []
        for v in param.values:
            if t is not ERROR and not _literal_fits(v.value, t):
                model.error(v.value.span, f"the value `{v.value.text}` is not {_words(t)}, the type of parameter `{param.name}`")
            if v.valid_until is not None and v.valid_until < v.valid_from:
                model.error(v.span, f"this value ends ({v.valid_until}) before it starts ({v.valid_from})")
            periods.append(v)
        periods.sort(key=lambda v: v.valid_from)
        for earlier, later in itertools.pairwise(periods):
            if earlier.valid_from == later.valid_from or (earlier.valid_until is not None and earlier.valid_until >= later.valid_from):
                advice = "end that one with `until` a day before, or leave out its `until`: a value runs until the next one starts"
                model.error(later.span, f"this value of `{param.name}` starts on {later.valid_from}, while the value at {earlier.span} still applies; {advice}")
    for decision in model.decisions.values():
        values = [o.name for o in decision.outcomes]
        if decision.value_type is not None:
            _valued_decision(model, decision)
            continue
        if not values:
            advice = "add `outcomes a, b, c`, or give it a type (`decision NAME is money`) for a decision that works out an amount"
            model.error(decision.span, f"decision `{decision.name}` declares no outcomes; {advice}")
        seen: set[str] = set()
        for o in decision.outcomes:
            if o.name in seen:
                model.error(o.span, f"the outcome `{o.name}` is listed twice")
            seen.add(o.name)
        model.name_types[decision.name] = Type("one of", values=tuple(values))
        if decision.for_each is not None:
            coll = decision.for_each.collection
            ct = model.fact_types.get(coll.name)
            if ct is None or ct.kind != "list":
                hint = did_you_mean(coll.name, [k for k, v in model.fact_types.items() if v.kind == "list"])
                model.error(coll.span, f"`{coll.name}` is not a list fact, so the decision cannot be made for each of its items{hint}")
            else:
                model.used.add(coll.name)


#: The types a valued decision may have (``decision grant is money``).
VALUED_KINDS = ("money", "number", "whole number", "percentage", "date", "yes/no")


def _valued_decision(model: PolicyModel, decision: n.DecisionDecl) -> None:
    """A decision that works out a value: a type of one value, and no outcome names beside it."""
    assert decision.value_type is not None
    t = _check_type_ref(model, decision.value_type)
    if t.kind not in VALUED_KINDS and t is not ERROR:
        kinds = ", ".join(VALUED_KINDS)
        model.error(decision.value_type.span, f"a decision can work out {kinds}, not {_words(t)}; for named outcomes write `outcomes a, b` instead")
        t = ERROR
    if decision.outcomes:
        model.error(decision.outcomes[0].span, f"decision `{decision.name}` works out {_words(t)}, so it has no outcomes; remove `outcomes` or the type")
    model.name_types[decision.name] = t
    if decision.for_each is not None:
        coll = decision.for_each.collection
        if model.fact_types.get(coll.name, ERROR).kind != "list":
            hint = did_you_mean(coll.name, [k for k, v in model.fact_types.items() if v.kind == "list"])
            model.error(coll.span, f"`{coll.name}` is not a list fact, so the decision cannot be made for each of its items{hint}")
        else:
            model.used.add(coll.name)


def parameter_periods(param: n.ParameterDecl) -> tuple[tuple[date, date | None, object], ...]:
    """A parameter's values as (from, until, value), in date order: a value without `until` runs until the next one (or `no value from`) starts."""
    return scales.periods(param)


def _check_ends(model: PolicyModel, param: n.ParameterDecl) -> None:
    """``no value from DATE`` ends a value that is in force then, and is not also the day a value starts."""
    starts = {v.valid_from for v in param.values} | {th.valid_from for step in param.steps for th in step.thresholds}
    for end in param.ends:
        if end.valid_from in starts:
            model.error(end.span, f"a value of `{param.name}` starts on {end.valid_from}, the day it has no value from; move one of the two dates")
        elif not any(s < end.valid_from for s in starts):
            model.error(end.span, f"`{param.name}` has no value before {end.valid_from} to end; put `no value from` after the value it ends")


def fits_value(expected: Type, found: Type) -> bool:
    """Whether a value of type ``found`` can be the value of a decision (or result) of type ``expected``."""
    if expected.kind in ("number", "percentage"):
        return found.is_numeric
    return found == expected


# --- 3. citations point at declared documents ---------------------------------------------


def _citations(files: list[n.RuleFile]) -> Iterable[n.Citation]:
    for d in _decls(files):
        yield from getattr(d, "citations", ())


def check_citations(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """A citation names a declared document and, if it lists its sections, one of them."""
    for c in _citations(files):
        doc = model.documents.get(c.document)
        if doc is None:
            advice = f'declare it with `document {c.document} "its title"`'
            model.error(c.span, f"there is no document called `{c.document}`{_hint_or(did_you_mean(c.document, model.documents), advice)}")
            continue
        if doc.sections and c.section not in doc.sections:
            hint = did_you_mean(c.section, doc.sections)
            model.error(c.span, f'document `{doc.name}` has no section "{c.section}"{hint.replace("`", chr(34))}')


# --- 4. names and types of every expression ----------------------------------------------


#: The types of scale parameters, which are read only as ``SCALE applied to AMOUNT``.
SCALE_KINDS = frozenset({"marginal scale", "banded scale"})

_KINDS_OF_NAME = {"define": "a defined value", "parameter": "a parameter", "decision": "a decision", "item": "an item of a list", "value": "a listed value"}


@attrs.define
class _Scope:
    items: dict[str, Type]
    context: str


class _Typer:
    def __init__(self, model: PolicyModel) -> None:
        self.model = model

    def note(self, expr: object, t: Type) -> Type:
        self.model.types[id(expr)] = t
        return t

    def resolve(self, name: n.Name, scope: _Scope) -> Type:
        m = self.model
        if name.name in scope.items:
            m.refs[id(name)] = Ref("item", name.name)
            return scope.items[name.name]
        for kind, table in (("fact", m.facts), ("define", m.defines), ("parameter", m.parameters), ("decision", m.decisions)):
            if name.name in table:
                m.refs[id(name)] = Ref(kind, name.name)
                m.used.add(name.name)
                if kind == "decision" and m.decisions[name.name].for_each is not None:
                    m.error(name.span, f"`{name.name}` is decided for each item of a list, so it has no single value here")
                    return ERROR
                if kind == "define" and name.name not in m.name_types:
                    self.define_type(name.name)
                return m.name_types.get(name.name, ERROR)
        hint = did_you_mean(name.name, [*m.declared_names(), *scope.items])
        if name.name in m.records:
            m.error(name.span, f"`{name.name}` is a record, not a value; use a list fact of {name.name} items")
        else:
            m.error(name.span, f"`{name.name}` is not declared{hint}")
        return ERROR

    def define_type(self, name: str) -> Type:
        m = self.model
        if name in m.name_types:
            return m.name_types[name]
        m.name_types[name] = ERROR  # provisional: a cycle is reported by its own check
        body = m.defines[name].body
        t = self.reasons_set(body) if isinstance(body, n.ReasonsSet) else self.expr(body, _Scope({}, f"`{name}`"))
        m.name_types[name] = t
        return t

    def reasons_set(self, body: n.ReasonsSet) -> Type:
        for member in body.members:
            t = self.resolve(member, _Scope({}, "a set of reasons"))
            if t not in (YES_NO, ERROR):
                self.model.error(member.span, f"`{member.name}` is {_words(t)}, but a reason must be a yes/no fact or condition")
        return self.note(body, REASONS)

    def value_of(self, expr: n.Expr, scope: _Scope, against: Type, other: n.Expr) -> Type:
        """Type an operand that may be a bare outcome or listed value of ``against`` (the type of ``other``)."""
        m = self.model
        if isinstance(expr, n.Name) and against.kind == "one of" and expr.name in against.values and expr.name not in scope.items:
            m.refs[id(expr)] = Ref("value", expr.name)
            return self.note(expr, Type("one of", values=(expr.name,)))
        if self.is_bare_value(expr, scope) and expr.name not in m.records:
            if against is ERROR:  # the other side is already reported: a second message would only repeat it
                return self.note(expr, ERROR)
            if against.kind == "one of":
                hint = did_you_mean(expr.name, against.values)
                m.error(expr.span, f"`{expr.name}` is not one of the values of {_text(m, other)}: {', '.join(against.values)}{hint}")
                return self.note(expr, ERROR)
        if isinstance(expr, n.Literal) and expr.kind == "text" and against.kind == "one of" and expr.value not in against.values:
            m.error(expr.span, f"{expr.text} is not one of the values of {_text(m, other)}: {', '.join(against.values)}")
            return self.note(expr, ERROR)
        return self.expr(expr, scope)

    def is_bare_value(self, expr: n.Expr, scope: _Scope) -> bool:
        m = self.model
        return isinstance(expr, n.Name) and expr.name not in scope.items and expr.name not in m.name_types and expr.name not in m.defines

    def expr(self, e: n.Expr, scope: _Scope) -> Type:
        m = self.model
        if isinstance(e, n.Literal):
            kind = "list" if e.kind == "list" else e.kind
            return self.note(e, Type(kind))
        if isinstance(e, n.Name):
            t = self.resolve(e, scope)
            if t.kind in SCALE_KINDS:
                m.error(e.span, f"`{e.name}` is a scale, which gives a value only applied to an amount: write `{e.name} applied to AMOUNT`")
                return self.note(e, ERROR)
            return self.note(e, t)
        if isinstance(e, n.Field):
            it = scope.items.get(e.item)
            if it is None:
                if m.fact_types.get(e.item, ERROR).kind == "list":
                    m.used.add(e.item)
                    advice = f"look at its items, like `any item in {e.item} where item.{e.field}`"
                    m.error(e.span, f"`{e.item}` is a list, so it has no single `{e.field}`; {advice}")
                else:
                    hint = did_you_mean(e.item, scope.items)
                    advice = "fields are read as `item.field` inside `any item in list where ...`"
                    m.error(e.span, f"`{e.item}` is not an item being looked at here; {advice}{hint}")
                return self.note(e, ERROR)
            record = m.records.get(it.record or "")
            if record is None:
                return self.note(e, ERROR)
            for f in record.fields:
                if f.name == e.field:
                    return self.note(e, type_from_ref(f.type))
            m.error(e.span, f"{_article(record.name)} has no field `{e.field}`{did_you_mean(e.field, [f.name for f in record.fields])}")
            return self.note(e, ERROR)
        if isinstance(e, n.Not):
            self.condition(e.operand, scope, "`not`")
            return self.note(e, YES_NO)
        if isinstance(e, n.BoolOp):
            for operand in e.operands:
                self.condition(operand, scope, f"`{e.op}`")
            return self.note(e, YES_NO)
        if isinstance(e, n.Compare):
            return self.note(e, self.compare(e, scope))
        if isinstance(e, n.Between):
            t = self.expr(e.operand, scope)
            for end in (e.low, e.high):
                et = self.value_of(end, scope, t, e.operand)
                if ERROR not in (t, et) and not _comparable(t, et, "<="):
                    found = f"{_text(m, e.operand)} is {_words(t)} and {_text(m, end)} is {_words(et)}"
                    m.error(e.span, f"`is between` compares numbers, money or dates of the same kind, but {found}")
            return self.note(e, YES_NO)
        if isinstance(e, n.Within):
            t, lt, ct = self.expr(e.operand, scope), self.expr(e.length, scope), self.expr(e.centre, scope)
            words = "is not within" if e.negated else "is within"
            for part, pt, want in ((e.operand, t, DATE), (e.length, lt, PERIOD), (e.centre, ct, DATE)):
                if pt not in (want, ERROR):
                    example = "12 months" if want == PERIOD else "a date"
                    m.error(part.span, f"`{words}` reads `DATE {words} PERIOD of DATE`, but {_text(m, part)} is {_words(pt)}; write {example} there")
            return self.note(e, YES_NO)
        if isinstance(e, n.Today):
            m.uses_today = True
            return self.note(e, DATE)
        if isinstance(e, n.DateDiff):
            for part in (e.start, e.end):
                pt = self.expr(part, scope)
                if pt not in (DATE, ERROR):
                    m.error(part.span, f"`{e.unit} from ... to ...` counts between two dates, but {_text(m, part)} is {_words(pt)}")
            return self.note(e, WHOLE)
        if isinstance(e, n.Member):
            t = self.expr(e.operand, scope)
            for option in e.options:
                ot = self.value_of(option, scope, t, e.operand)
                if ERROR not in (t, ot) and not _comparable(t, ot, "="):
                    m.error(option.span, f"{_text(m, option)} is {_words(ot)}, so it cannot be a value of {_text(m, e.operand)}, which is {_words(t)}")
            return self.note(e, YES_NO)
        if isinstance(e, n.Test):
            t = self.expr(e.operand, scope)
            if e.test == "known":
                self.known(e, scope)
            if e.test == "empty" and t.kind not in ("list", "error"):
                m.error(e.span, f"only a list can be empty, and {_text(m, e.operand)} is {_words(t)}")
            return self.note(e, YES_NO)
        if isinstance(e, n.Arith):
            return self.note(e, self.arith(e, scope))
        if isinstance(e, n.Neg):
            t = self.expr(e.operand, scope)
            if t is not ERROR and not (t.is_numeric or t == MONEY):
                m.error(e.span, f"only numbers and money can be negative, and {_text(m, e.operand)} is {_words(t)}")
            return self.note(e, t)
        if isinstance(e, n.CountOf):
            if e.reasons is not None:
                t = self.resolve(e.reasons, scope)
                self.note(e.reasons, t)
                if t not in (REASONS, ERROR):
                    words = e.quantifier.replace("_", " ")
                    m.error(e.reasons.span, f"`{e.reasons.name}` is {_words(t)}; `{words} of` needs a set of reasons or a list of conditions in brackets")
            for c in e.conditions:
                self.condition(c, scope, "this list of conditions")
            if e.quantifier == "at_least" and e.reasons is None and e.at_least > len(e.conditions):
                m.warning(e.span, f"at least {e.at_least} of {len(e.conditions)} conditions can never hold")
            return self.note(e, YES_NO)
        if isinstance(e, n.Over):
            inner = self.items_of(e, scope, "so its items cannot be looked at")
            self.condition(e.condition, inner, "`where`")
            return self.note(e, WHOLE if e.quantifier == "count" else YES_NO)
        if isinstance(e, n.Length):
            t = self.resolve(e.collection, scope)
            self.note(e.collection, t)
            if t.kind not in ("list", "error"):
                m.error(e.collection.span, f"`number of` counts the items of a list, and `{e.collection.name}` is {_words(t)}")
            return self.note(e, WHOLE)
        if isinstance(e, n.Extreme | n.Rounded | n.Conditional | n.Total):
            return self.note(e, self.amount(e, scope))
        if isinstance(e, n.ScaleApplied):
            return self.note(e, self.scale_applied(e, scope))
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def amount(self, e: n.Extreme | n.Rounded | n.Conditional | n.Total, scope: _Scope) -> Type:
        """The forms that work out an amount: the greater or smaller of two, rounding, a value chosen by a condition, a total over a list."""
        m = self.model
        if isinstance(e, n.Extreme):
            a, b = (self.expr(x, scope) for x in e.operands)
            if ERROR in (a, b):
                return ERROR
            if not _comparable(a, b, "<") or a.kind in ("yes/no", "text", "one of"):
                left, right = e.operands
                m.error(
                    e.span,
                    f"`the {e.which} of` compares two numbers, amounts of money or dates, "
                    f"but {_text(m, left)} is {_words(a)} and {_text(m, right)} is {_words(b)}",
                )
                return ERROR
            return a if a == b else NUMBER if a.is_numeric else a
        if isinstance(e, n.Rounded):
            t = self.expr(e.operand, scope)
            if t is ERROR:
                return ERROR
            if e.unit in ("penny", "pound") and t != MONEY:
                advice = "round it to the nearest whole number instead" if t.is_numeric else "only money is rounded to a penny or a pound"
                m.error(e.span, f"{_text(m, e.operand)} is {_words(t)}, not money, so it has no pennies or pounds; {advice}")
                return ERROR
            if e.unit == "whole number" and not (t.is_numeric or t == MONEY):
                m.error(e.span, f"only numbers and money can be rounded, and {_text(m, e.operand)} is {_words(t)}")
                return ERROR
            return MONEY if t == MONEY else WHOLE
        if isinstance(e, n.Conditional):
            self.condition(e.condition, scope, "`if`")
            a, b = self.expr(e.then, scope), self.expr(e.otherwise, scope)
            if ERROR in (a, b):
                return ERROR
            if a == b:
                return a
            if a.is_numeric and b.is_numeric:
                return NUMBER
            advice = "; write an amount of money as money, like £0" if MONEY in (a, b) and (a.is_numeric or b.is_numeric) else ""
            m.error(
                e.span,
                f"both values of `if ... then ... else` must be of one type, "
                f"but {_text(m, e.then)} is {_words(a)} and {_text(m, e.otherwise)} is {_words(b)}{advice}",
            )
            return ERROR
        inner = self.items_of(e, scope, "so there is nothing to total over")
        if e.condition is not None:
            self.condition(e.condition, inner, "`where`")
        t = self.expr(e.value, inner)
        if t is not ERROR and not (t.is_numeric or t == MONEY):
            m.error(e.value.span, f"`total of` adds numbers or amounts of money, and {_text(m, e.value)} is {_words(t)}")
            return ERROR
        return t

    def scale_applied(self, e: n.ScaleApplied, scope: _Scope) -> Type:
        """``SCALE applied to AMOUNT``: a scale parameter, put to an amount of the kind of its thresholds."""
        m = self.model
        t = self.resolve(e.scale, scope)
        self.note(e.scale, t)
        amount = self.expr(e.amount, scope)
        if t is ERROR:
            return ERROR
        if t.kind not in SCALE_KINDS:
            declared = [k for k, v in m.name_types.items() if v.kind in SCALE_KINDS]
            listed = f"; the scales are {', '.join(f'`{k}`' for k in declared)}" if declared else ""
            advice = did_you_mean(e.scale.name, declared) or listed or "; declare one with `parameter NAME is a marginal scale` and its brackets"
            m.error(e.scale.span, f"`{e.scale.name}` is {_words(t)}, not a scale, so it cannot be applied to an amount{advice}")
            return ERROR
        if amount is ERROR:
            return ERROR
        if not scales.fits_amount(t, amount):
            want = "an amount of money" if t.values[0] == "money" else "a number"
            m.error(
                e.amount.span,
                f"`{e.scale.name}` is applied to {want}, as its thresholds are, and {_text(m, e.amount)} is {_words(amount)}",
            )
            return ERROR
        return scales.applied_type(t, amount)

    def items_of(self, e: n.Over | n.Total, scope: _Scope, why_not: str) -> _Scope:
        """The scope inside a form that looks at each item of a list in turn: the item is one of the list's records."""
        m = self.model
        ct = self.resolve(e.collection, scope)
        self.note(e.collection, ct)
        if ct.kind not in ("list", "error"):
            m.error(e.collection.span, f"`{e.collection.name}` is {_words(ct)}, not a list, {why_not}")
            ct = ERROR
        if e.item in m.name_types:
            m.error(e.span, f"`{e.item}` is already the name of a {_decl_kind(_declaration(m, e.item))}; call the item something else")
        return _Scope({**scope.items, e.item: Type("item", record=ct.record) if ct is not ERROR else ERROR}, scope.context)

    def known(self, e: n.Test, scope: _Scope) -> None:
        """``x is known`` asks whether a fact was given: only a fact or an item's field can be."""
        m = self.model
        operand = e.operand
        if isinstance(operand, n.Field):
            return
        what = "not a fact"
        if isinstance(operand, n.Name):
            ref = m.refs.get(id(operand))
            if ref is None:  # not declared: already reported
                return
            if ref.kind == "fact":
                return
            what = _KINDS_OF_NAME.get(ref.kind, what)
        word = "is not known" if e.negated else "is known"
        advice = "use it only on a fact or on an item's field (`item.field`)"
        m.error(e.span, f"`{word}` asks whether a fact was given, but {_text(m, operand)} is {what}; {advice}")

    def condition(self, e: n.Expr, scope: _Scope, where: str) -> None:
        t = self.expr(e, scope)
        if t not in (YES_NO, ERROR):
            self.model.error(e.span, f"{where} needs a yes/no condition, but {_text(self.model, e)} is {_words(t)}")

    def compare(self, e: n.Compare, scope: _Scope) -> Type:
        m = self.model
        left_is_value = self.is_bare_value(e.left, scope) and not self.is_bare_value(e.right, scope)
        if left_is_value or (isinstance(e.left, n.Literal) and e.left.kind == "text"):
            rt = self.expr(e.right, scope)
            lt = self.value_of(e.left, scope, rt, e.right)
        else:
            lt = self.expr(e.left, scope)
            rt = self.value_of(e.right, scope, lt, e.left)
        if ERROR in (lt, rt):
            return YES_NO
        if not _comparable(lt, rt, e.op):
            if e.op in ("=", "<>"):
                m.error(e.span, f"{_text(m, e.left)} is {_words(lt)} and {_text(m, e.right)} is {_words(rt)}; they cannot be compared")
            else:
                found = f"{_text(m, e.left)} is {_words(lt)} and {_text(m, e.right)} is {_words(rt)}"
                m.error(e.span, f"`{e.words}` compares numbers, money or dates of the same kind, but {found}")
        elif e.words in ("is before", "is after") and lt != DATE:
            m.error(e.span, f"`{e.words}` compares dates, but {_text(m, e.left)} is {_words(lt)}; use `is below` or `is above`")
        return YES_NO

    def arith(self, e: n.Arith, scope: _Scope) -> Type:
        m = self.model
        lt, rt = self.expr(e.left, scope), self.expr(e.right, scope)
        if ERROR in (lt, rt):
            return ERROR
        result = _arith_type(e.op, lt, rt)
        if result is None:
            verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[e.op]
            hint = ""
            if MONEY in (lt, rt) and (lt.is_numeric or rt.is_numeric) and e.op in "+-":
                hint = "; write the number as money, like £1,000"
            elif lt == DATE and rt.is_numeric and e.op in "+-":
                left, right = _text(m, e.left).strip("`"), _text(m, e.right).strip("`")
                hint = f"; a date moves by a period, like `{left} {e.op} {right} months` (or days, weeks, years)"
            elif lt == DATE == rt and e.op == "-":
                left, right = _text(m, e.left).strip("`"), _text(m, e.right).strip("`")
                hint = f"; count between two dates with `days from {right} to {left}` (or months, years)"
            elif PERIOD in (lt, rt) and (lt.is_numeric or rt.is_numeric):
                hint = "; a period is a length of time, not a number: add it to a date"
            m.error(e.span, f"cannot {verb} {_text(m, e.left)} ({_words(lt)}) and {_text(m, e.right)} ({_words(rt)}){hint}")
            return ERROR
        return result


def _declaration(m: PolicyModel, name: str) -> n.Declaration:
    for table in (m.facts, m.defines, m.parameters, m.decisions):
        if name in table:
            return table[name]
    raise KeyError(name)


def _comparable(a: Type, b: Type, op: str) -> bool:
    if a.kind == "one of" and b.kind == "one of":
        return op in ("=", "<>") and bool(set(a.values) & set(b.values))
    if (a.kind == "one of" and b == TEXT) or (b.kind == "one of" and a == TEXT):
        return op in ("=", "<>")
    if a.is_numeric and b.is_numeric:
        return True
    if a.kind != b.kind:
        return False
    if a.kind in ("money", "date"):
        return True
    return op in ("=", "<>") and a.kind in ("yes/no", "text")


def _arith_type(op: str, a: Type, b: Type) -> Type | None:
    if a == DATE and b == PERIOD and op in "+-":
        return DATE
    if a == PERIOD and b == DATE and op == "+":
        return DATE
    if a.is_numeric and b.is_numeric:
        if op == "/" or NUMBER in (a, b) or (PERCENTAGE in (a, b) and op in "*"):
            return NUMBER
        return WHOLE if a == b == WHOLE else NUMBER if PERCENTAGE not in (a, b) or op in "*/" else PERCENTAGE
    if a == MONEY and b == MONEY:
        return MONEY if op in "+-" else NUMBER if op == "/" else None
    if a == MONEY and b.is_numeric and op in "*/":
        return MONEY
    if a.is_numeric and b == MONEY and op == "*":
        return MONEY
    return None


def _text(model: PolicyModel, e: object) -> str:
    """The expression as written in the file, for messages."""
    span = getattr(e, "span", None)
    if span is None:
        return "this"
    lines = text_lines(model.sources.get(span.path, ""))
    if span.line < 1 or span.line > len(lines):
        return "this"
    if span.line == span.end_line:
        text = lines[span.line - 1][span.column - 1 : span.end_column - 1]
    else:
        text = lines[span.line - 1][span.column - 1 :] + " ..."
    return f"`{text}`" if text else "this"


def check_expressions(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Every name is declared and every expression is well typed."""
    typer = _Typer(model)
    for name in model.defines:
        typer.define_type(name)
    for rule in model.rules.values():
        decision = model.decisions.get(rule.decision.name)
        if decision is None:
            model.error(rule.decision.span, f"there is no decision called `{rule.decision.name}`{did_you_mean(rule.decision.name, model.decisions)}")
            continue
        items: dict[str, Type] = {}
        if decision.for_each is not None:
            ct = model.fact_types.get(decision.for_each.collection.name, ERROR)
            items[decision.for_each.item] = Type("item", record=ct.record) if ct.kind == "list" else ERROR
        scope = _Scope(items, f"rule `{rule.label}`")
        if rule.condition is not None:
            typer.condition(rule.condition, scope, "`when`")
        outcome_type = model.name_types.get(decision.name, ERROR)
        c = rule.conclusion
        if decision.value_type is not None:
            _valued_conclusion(model, typer, decision, outcome_type, c, scope)
            continue
        if isinstance(c, n.Name) and c.name in outcome_type.values and c.name not in items:
            model.refs[id(c)] = Ref("value", c.name)
            typer.note(c, Type("one of", values=(c.name,)))
            continue
        if isinstance(c, n.Name) and c.name not in model.name_types and c.name not in items:
            hint = did_you_mean(c.name, outcome_type.values)
            model.error(c.span, f"`{c.name}` is not an outcome of decision `{decision.name}`; its outcomes are {', '.join(outcome_type.values)}{hint}")
            continue
        t = typer.expr(c, scope)
        if t is ERROR:
            continue
        if t.kind != "one of" or not set(t.values) <= set(outcome_type.values):
            extra = sorted(set(t.values) - set(outcome_type.values)) if t.kind == "one of" else []
            detail = f"it can be {', '.join(extra)}, which decision `{decision.name}` does not declare" if extra else f"it is {_words(t)}"
            model.error(c.span, f"the conclusion {_text(model, c)} must be an outcome of decision `{decision.name}`; {detail}")


def _valued_conclusion(model: PolicyModel, typer: _Typer, decision: n.DecisionDecl, expected: Type, c: n.Expr, scope: _Scope) -> None:
    """The conclusion of a rule of a valued decision is a value of its type."""
    t = typer.expr(c, scope)
    if ERROR in (t, expected) or fits_value(expected, t):
        return
    advice = ""
    if expected == WHOLE and t.is_numeric:
        advice = f"; round it, like `{_text(model, c).strip('`')} rounded to the nearest whole number`"
    elif expected == MONEY and t.is_numeric:
        advice = "; write an amount as money, like £1,000, or multiply money by it"
    model.error(c.span, f"decision `{decision.name}` works out {_words(expected)}, but {_text(model, c)} is {_words(t)}{advice}")


# --- 5. no value depends on itself ------------------------------------------------------


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold other nodes (computed once per class)."""
    found = _CHILD_FIELDS.get(cls)
    if found is None:
        found = tuple(f.name for f in attrs.fields(cls) if f.name != "span") if attrs.has(cls) else ()
        _CHILD_FIELDS[cls] = found
    return found


def _names_in(model: PolicyModel, e: object) -> Iterable[str]:
    """The defined values and decisions an expression reads."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, n.Name):
            ref = model.refs.get(id(x))
            if ref is not None and ref.kind in ("define", "decision"):
                yield ref.name
            continue
        for name in _child_fields(type(x)):
            value = getattr(x, name)
            if isinstance(value, tuple):
                stack.extend(value)
            elif attrs.has(type(value)):
                stack.append(value)


def dependencies(model: PolicyModel) -> dict[str, list[str]]:
    """Which defined values and decisions each defined value or decision reads."""
    deps: dict[str, list[str]] = {}
    for name, define in model.defines.items():
        deps[name] = sorted(set(_names_in(model, define.body)))
    for name in model.decisions:
        found: set[str] = set()
        for label in model.rules_of.get(name, []):
            rule = model.rules[label]
            found.update(_names_in(model, rule.condition))
            found.update(_names_in(model, rule.conclusion))
        deps[name] = sorted(found)
    return deps


def check_cycles(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """A defined value or decision that depends on itself can never be worked out."""
    deps = dependencies(model)
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def span_of(name: str) -> n.Span:
        return model.defines[name].span if name in model.defines else model.decisions[name].span

    for root in deps:
        if state.get(root):
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(deps[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    first = min(cycle, key=lambda x: (span_of(x).path, span_of(x).line))
                    start = cycle.index(first)
                    ordered = cycle[start:] + cycle[:start] + [first]
                    if len(cycle) == 1:
                        model.error(span_of(first), f"`{first}` depends on itself; it cannot be worked out from its own value")
                    else:
                        model.error(span_of(first), f"`{first}` depends on itself: {' -> '.join(ordered)}; one of these must be worked out without the others")
            elif not state.get(nxt) and nxt in deps:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(deps[nxt])))


# --- 6. decisions: one default, exceptions to rules of the same decision -------------


def check_decisions(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Each decision has one default rule; every exception names a rule of its decision; no loops."""
    for label, rule in model.rules.items():
        if rule.decision.name in model.decisions:
            model.rules_of.setdefault(rule.decision.name, []).append(label)
    loops: set[frozenset[str]] = set()
    for name, decision in model.decisions.items():
        labels = model.rules_of.get(name, [])
        defaults = [label for label in labels if model.rules[label].is_default]
        if not defaults:
            model.error(decision.span, f"decision `{name}` has no default rule; add `rule ... by default {name} is ...`")
        for extra in defaults[1:]:
            first = f"`{defaults[0]}` at {model.rules[defaults[0]].span}"
            model.error(model.rules[extra].span, f"decision `{name}` already has a default rule, {first}; make this rule an exception to it")
        if defaults:
            model.default_rule[name] = defaults[0]
        for label in labels:
            rule = model.rules[label]
            if rule.parent is None:
                continue
            parent = model.rules.get(rule.parent.name)
            if parent is None:
                model.error(rule.parent.span, f"there is no rule labelled `{rule.parent.name}`{did_you_mean(rule.parent.name, labels)}")
                continue
            if parent.decision.name != name:
                advice = "an exception must be to a rule of the same decision"
                model.error(rule.parent.span, f"rule `{parent.label}` decides `{parent.decision.name}`, not `{name}`; {advice}")
                continue
            if rule.parent.name == label:
                model.error(rule.parent.span, f"rule `{label}` cannot be an exception to itself")
                continue
            model.children.setdefault(rule.parent.name, []).append(label)
        # Loops among exceptions never reach the default: report each loop once. A rule whose
        # chain of parents was walked already is not walked again (a chain is as deep as the policy).
        walked: set[str] = set()
        for label in labels:
            chain = [label]
            on_chain = {label}
            current = model.rules[label]
            while current.parent is not None and current.parent.name in model.rules and current.parent.name != current.label:
                nxt = current.parent.name
                if nxt in walked:
                    break
                if nxt in on_chain:
                    loop = chain[chain.index(nxt) :]
                    if frozenset(loop) not in loops:
                        loops.add(frozenset(loop))
                        first = min(loop, key=lambda x: (model.rules[x].span.path, model.rules[x].span.line, model.rules[x].span.column))
                        start = loop.index(first)
                        ordered = [*loop[start:], *loop[:start], first]
                        where = model.rules[first].parent
                        assert where is not None
                        advice = "one of them must be an exception to the default rule or to a rule under it"
                        model.error(where.span, f"these rules are exceptions to each other in a loop: {' -> '.join(ordered)}; {advice}")
                    break
                chain.append(nxt)
                on_chain.add(nxt)
                current = model.rules[nxt]
            walked.update(chain)


# --- 7. the policy header ---------------------------------------------------------------


def check_header(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """The header names the decisions that give the outcome, priority and element outcomes."""
    h = model.header
    service_level = [d for d in model.decisions.values() if d.for_each is None]
    first = next((d.span for f in files for d in f.declarations), n.Span(files[0].path, 1, 1, 1, 1) if files else n.NO_SPAN)
    if not model.decisions and files:  # nothing to decide: an empty file, or facts alone
        model.error(first, "this policy has no decision, so there is nothing to decide; add one, like `decision delivery outcomes a, b`, with a default rule")
    if h is None:
        if len(service_level) == 1:
            model.outcome = service_level[0].name
            model.used.add(model.outcome)
        elif service_level and files:
            advice = 'add a `policy "its name"` header with `outcome DECISION` to say which one gives the outcome'
            model.error(first, f"this policy has several decisions; {advice}")
        if "service" in model.fact_types and model.fact_types["service"].kind == "text":
            model.service_name = "service"
            model.used.add("service")
        return
    model.title = h.title
    model.version = h.version or model.version

    def decision(ref: n.Name | None, what: str, per_item: bool) -> str | None:
        if ref is None:
            return None
        d = model.decisions.get(ref.name)
        if d is None:
            model.error(ref.span, f"the {what} must be a decision, and `{ref.name}` is not one{did_you_mean(ref.name, model.decisions)}")
            return None
        if (d.for_each is not None) != per_item:
            made = "made once for the service" if per_item else "made for each item of a list"
            model.error(ref.span, f"decision `{ref.name}` is {made}, so it cannot give the {what}")
            return None
        return ref.name

    model.outcome = decision(h.outcome, "outcome", False)
    if h.outcome is None:
        if len(service_level) == 1:
            model.outcome = service_level[0].name
        elif service_level:
            model.error(h.span, "say which decision gives the outcome: add `outcome DECISION` to the policy header")
    model.priority = decision(h.priority, "priority", False)
    model.element_outcomes = decision(h.element_outcomes, "element outcomes", True)
    if h.reasons is not None:
        if h.reasons.name in model.defines:
            model.reasons = h.reasons.name
            model.used.add(h.reasons.name)
            if not isinstance(model.defines[h.reasons.name].body, n.ReasonsSet):
                model.error(h.reasons.span, f"`{h.reasons.name}` must be a set of reasons (`define ... as those of a, b that hold`)")
        else:
            model.error(h.reasons.span, f"there is no set of reasons called `{h.reasons.name}`{did_you_mean(h.reasons.name, model.defines)}")
    if h.service_name is not None:
        t = model.fact_types.get(h.service_name.name)
        if t is None:
            model.error(h.service_name.span, f"there is no fact called `{h.service_name.name}`{did_you_mean(h.service_name.name, model.facts)}")
        elif t != TEXT:
            model.error(h.service_name.span, f"the service name must be a text fact, and `{h.service_name.name}` is {_words(t)}")
        else:
            model.service_name = h.service_name.name
            model.used.add(h.service_name.name)
    results: list[str] = []
    for ref in h.results:
        valued = model.decisions.get(ref.name)
        if ref.name in results:
            model.error(ref.span, f"`{ref.name}` is named twice in `results`")
        elif ref.name in model.defines or (valued is not None and valued.value_type is not None and valued.for_each is None):
            results.append(ref.name)
            model.used.add(ref.name)
        elif valued is not None:
            why = "is made for each item of a list" if valued.for_each is not None else "gives an outcome, not an amount"
            model.error(ref.span, f"decision `{ref.name}` {why}; a result is a defined value or a decision with a type (`decision {ref.name} is money`)")
        else:
            candidates = [*model.defines, *(d for d, decl in model.decisions.items() if decl.value_type is not None)]
            model.error(ref.span, f"there is no defined value or valued decision called `{ref.name}`{did_you_mean(ref.name, candidates)}")
    model.results = tuple(results)
    for name in (model.outcome, model.priority, model.element_outcomes):
        if name:
            model.used.add(name)


# --- 8. warnings: what an officer probably forgot -----------------------------------------


def check_explanations(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Every rule should cite the policy and say why; a trace without them explains little."""
    for rule in model.rules.values():
        if not rule.citations:
            model.warning(rule.span, f'rule `{rule.label}` cites no section of the policy; add `cites DOCUMENT section "..."`')
        if not rule.because:
            model.warning(rule.span, f'rule `{rule.label}` has no `because "..."` sentence to show in explanations')


def check_unused(model: PolicyModel, files: list[n.RuleFile]) -> None:
    """Facts, parameters and defined values that no rule reads are probably mistakes."""
    for name, fact in model.facts.items():
        if name not in model.used and not fact.reference:
            model.warning(fact.span, f"fact `{name}` is declared but never used")
    for name, param in model.parameters.items():
        if name not in model.used:
            model.warning(param.span, f"parameter `{name}` is declared but never used")
    for name, define in model.defines.items():
        if name not in model.used:
            model.warning(define.span, f"`{name}` is defined but never used")
    for name, decision in model.decisions.items():
        if name not in model.used:
            model.warning(decision.span, f"decision `{name}` is never used: name it in the policy header or read it in a rule")


CHECKS: list[tuple[str, Check]] = [
    ("duplicate-declarations", check_duplicates),
    ("declared-types", check_declared_types),
    ("scales", scales.check_scales),
    ("citations", check_citations),
    ("decision-structure", check_decisions),
    ("names-and-types", check_expressions),
    ("cycles", check_cycles),
    ("policy-header", check_header),
    ("explanations", check_explanations),
    ("unused-declarations", check_unused),
]


def check(files: list[n.RuleFile], sources: dict[str, str], default_title: str) -> PolicyModel:
    """Run every check in order; the model carries all diagnostics, sorted by place."""
    model = PolicyModel(title=default_title, version="unversioned", header=None, sources=sources)
    for _name, run in CHECKS:
        run(model, files)
    model.diagnostics.sort(key=Diagnostic.sort_key)
    return model


def default_title(path: str) -> str:
    return Path(path).stem.replace("_", " ").replace("-", " ") or "policy"
