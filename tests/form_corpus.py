"""The differential corpus: small rule sets that use every form of the language, and facts to decide them with.

Every mode of the engine (trace off, trace on, many services at once, facts
as typed values and as the text cells of a register) must decide each case
exactly as the reference does: the three-valued mode of the code generator,
reached through ``Policy.decide_in_full``, whose every form is in turn checked
against ``Oracle``, a tree-walking interpreter written apart from the engine. ``tests/test_form_coverage.py``
runs the corpus and checks that it covers every variant of the expression
AST with each truth value; ``python -m benchmarks.mutate`` runs it against
mutants of the code generators.

The cases are built by a seeded generator and by hand, so the corpus is the
same on every run: edge values (0, negative amounts, equal bounds, empty
lists), missing facts, dates on both sides of a parameter's change, and
exceptions that conflict.
"""

from __future__ import annotations

import json
import math
import operator
import random
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from policy_rules import Policy, PolicyError, load_policy
from policy_rules.engine.values import UNKNOWN
from policy_rules.language import nodes as n

#: Scalar forms: every comparison, arithmetic, membership, test, quantifier over conditions.
SCALARS = """
policy "scalar forms"
  service name service
  outcome plan
  priority urgency
  reasons why

fact service is text
fact amount is money
  may be negative
fact limit is money
  may be negative
fact count is whole number
fact ratio is number
fact share is percentage
fact start is date
fact region is one of north, south, east
fact home is one of north, south, east
fact away is one of north, south, east
fact label is text
fact flag is yes/no
fact other is yes/no
fact backup is yes/no
  default no

parameter cap is money
  value £100 from 2020-01-01 until 2022-12-31
  value £200 from 2023-01-01

parameter rate is percentage
  value 10% from 2020-01-01 until 2022-12-31
  value 20% from 2023-01-01

define gap as amount - limit
define scaled as amount * (100% + rate)
define per as amount / count
define loss as -gap

define c_eq as amount = limit
define c_ne as amount <> limit
define c_lt as amount < limit
define c_le as amount <= limit
define c_gt as amount > limit
define c_ge as amount >= limit
define c_words as amount is at least £10 and amount is at most £1,000 and count is above 1 and count is below 9
define c_more as ratio is more than 0.5 or ratio is less than -1 or share is 25% or share is not 50%
define c_dates as start is before 2024-01-01 or start is after 2024-06-30
define c_text as label is "protected" or label is not "open"
define c_arith as amount + limit > £500 and gap < £0 or scaled >= £300
define c_div as per > £50
define c_neg as loss > £10 and -count < -2
define c_param as amount > cap
define c_in as region is one of (north, home)
define c_not_in as region is not one of (south, east)
define c_in_facts as region is not one of (home, away)
define c_in_text as label is one of ("protected", "closed")
define c_known as amount is known and label is not known
define c_not as not flag
define c_bool as flag is yes and other is not no or backup = no
define c_any as any of (flag, other, backup)
define c_all as all of (flag, other, c_gt)
define c_none as none of (flag, c_lt)
define c_two as at least 2 of (flag, other, c_eq, backup)
define c_between as amount is between limit and £1,000
define c_age as years from start to today is at least 1 and months from start to today is below 20 or days from start to 2024-03-01 > 30
define c_within as start is within 3 months of 2024-03-31 and start is not within 1 year of today
define c_shift as start + 1 month is before 2024-03-01 or 2 weeks + start is after today - 10 days
define c_three as at least 3 of (flag, other, c_ge)
define basics as those of flag, other, backup, c_ge that hold
define r_any as any of basics
define r_all as all of basics
define r_none as none of basics
define r_two as at least 2 of basics
define r_mix as any of basics and flag

define why as those of c_eq, c_ne, c_lt, c_le, c_gt, c_ge, c_words, c_more, c_dates, c_text, c_arith, c_div, c_neg, c_param, c_in, c_not_in,
  c_in_facts, c_in_text, c_between, c_age, c_within, c_shift,
  c_known, c_not, c_bool, c_any, c_all, c_none, c_two, c_three, r_any, r_all, r_none, r_two, r_mix that hold

decision plan
  outcomes keep, grow, cut, pause, review

rule keep_default
  by default plan is keep

rule grow_when_room
  exception to keep_default
  when c_gt and not flag
  then plan is grow

rule grow_on_count
  exception to keep_default
  when c_gt and count >= 2
  then plan is grow

rule cut_when_short
  exception to keep_default
  when c_lt and (other or amount > cap)
  then plan is cut

rule pause_in_region
  exception to cut_when_short
  when region is one of (north, home) and count >= 2
  then plan is pause

rule review_always
  exception to pause_in_region
  when label is "review"
  then plan is review

decision urgency
  outcomes low, high, top

rule low_default
  by default urgency is low

rule high_always
  exception to low_default
  then urgency is high

rule top_when_two
  exception to high_always
  when c_two or c_any and c_none
  then urgency is top

rule low_when_cut
  exception to top_when_two
  when plan is one of (cut, pause)
  then urgency is low
"""

#: Forms over lists of records: quantifiers, fields, counts, emptiness, and a decision for each item.
LISTS = """
policy "list forms"
  service name service
  outcome plan
  reasons why
  element outcomes step

record job
  field name is text
  field hours is number
  field big is yes/no
  field kind is one of small, large
  field due is date

record part
  field label is text
  field cost is money
  field spare is yes/no

fact service is text
fact jobs is list of job
fact parts is list of part
fact staff is whole number
fact started is date
fact flag is yes/no
fact other is yes/no

define nothing as empty
define l_nothing as nothing is empty
define l_any_big as any j in jobs where j.big
define l_every_big as every j in jobs where j.big
define l_no_big as no j in jobs where j.big
define l_any_long as any j in jobs where j.hours > 8
define l_every_long as every j in jobs where (j.hours >= 8 and not j.big)
define l_no_short as no j in jobs where j.hours < 2
define l_many_long as (number of j in jobs where (j.hours > 5)) >= 2
define l_crowded as number of jobs > staff
define l_empty as jobs is empty
define l_filled as jobs is not empty
define l_named as every j in jobs where j.name is known
define l_unnamed as any j in jobs where j.name is not known
define l_top as any j in jobs where ((no k in jobs where k.hours > j.hours) and j.kind is large)
define l_late as any j in jobs where j.due is after started
define l_large as any j in jobs where j.kind is one of (large)
define l_not_small as every j in jobs where j.kind is not one of (small)
define l_sum as any j in jobs where j.hours * 2 - staff / 2 > 10
define l_count_big as (number of j in jobs where j.big) > 1
define l_parts as any p in parts where (p.label is known and p.cost > £10 or p.spare)

define why as those of l_nothing, l_any_big, l_every_big, l_no_big, l_any_long, l_every_long, l_no_short, l_many_long, l_crowded, l_empty,
  l_filled, l_named, l_unnamed, l_top, l_late, l_large, l_not_small, l_sum, l_count_big, l_parts that hold

decision plan
  outcomes keep, grow, cut, pause

rule keep_default
  by default plan is keep

rule grow_when_big
  exception to keep_default
  when l_any_big and not l_crowded
  then plan is grow

rule cut_when_crowded
  exception to grow_when_big
  when flag and l_crowded
  then plan is cut

rule pause_when_late
  exception to grow_when_big
  when not flag and l_late
  then plan is pause

decision step for each j in jobs
  outcomes finished, deferred, keep, grow, cut, pause

rule step_as_plan
  by default step is plan

rule step_deferred
  exception to step_as_plan
  when other or j.hours * 2 > 15 and j.due is after started
  then step is deferred

rule step_finished
  exception to step_deferred
  when j.big and no k in jobs where k.hours > j.hours
  then step is finished
"""

#: A known value compared with a missing fact on its right, closed by a second bound at exactly the same value:
#: only the exact bound each comparison puts on the missing fact gives the right needed facts.
BOUNDS = """
policy "bounds"
  service name service
  outcome plan

fact service is text
fact amount is money
  may be negative
fact l1 is money
  may be negative
fact l2 is money
  may be negative
fact l3 is money
  may be negative
fact l4 is money
  may be negative

decision plan
  outcomes keep, odd

rule keep_default
  by default plan is keep

rule never_above
  exception to keep_default
  when amount < l1 and l1 <= amount
  then plan is odd

rule only_equal_up
  exception to keep_default
  when amount <= l2 and l2 <= amount
  then plan is odd

rule never_below
  exception to keep_default
  when amount > l3 and l3 >= amount
  then plan is odd

rule only_equal_down
  exception to keep_default
  when amount >= l4 and l4 >= amount
  then plan is odd
"""

#: Forms that work out amounts: valued decisions (agreeing and conflicting), results, greater/smaller, rounding, if/then/else, totals.
AMOUNTS = """
policy "amount forms"
  service name service
  outcome plan
  results grant, doubled, works, biggest, levied

record part
  field cost is money
    may be negative
  field spare is yes/no

fact service is text
fact amount is money
  may be negative
fact limit is money
  may be negative
fact count is whole number
fact ratio is number
fact flag is yes/no
fact parts is list of part

parameter levy is a marginal scale
  bracket
    threshold £0 from 2020-01-01
    rate 0% from 2020-01-01
  bracket
    threshold £100 from 2020-01-01
    threshold £50 from 2023-01-01
    rate 20% from 2020-01-01
  bracket
    threshold £200 from 2020-01-01
    rate 40% from 2020-01-01
    rate 50% from 2023-01-01

parameter banding is a banded scale of percentage
  band
    threshold £0 from 2020-01-01
    rate 100% from 2020-01-01
  band
    threshold £100 from 2020-01-01
    rate 50% from 2020-01-01
  band
    threshold £250 from 2023-01-01
    rate 0% from 2023-01-01

parameter steps is a banded scale of number
  band
    threshold 0 from 2020-01-01
    amount 1 from 2020-01-01
  band
    threshold 2 from 2020-01-01
    amount 3 from 2020-01-01
  no value from 2030-01-01

define levied as levy applied to amount
define a_scale as levied > £20 or (banding applied to limit) = 50% or (steps applied to ratio) > 1
define works as total of p.cost for each p in parts where (p.spare)
define everything as total of p.cost for each p in parts
define biggest as the greater of amount and limit
define a_greater as (the greater of amount and limit) > £100
define a_smaller as (the smaller of amount and limit) < £50
define a_if as (if flag then amount else limit) > £99
define a_round as amount / 3 rounded to the nearest penny > £33.33 or amount / 3 rounded down to the pound = £33 or amount / 3 rounded up to the pound > £34
define a_round_more as (amount / 7 rounded down to the penny) + (amount / 7 rounded up to the penny) > £28 or amount / 7 rounded to the nearest pound > £14
define a_round_whole as (ratio / 3 rounded to the nearest whole number) + (ratio / 3 rounded down to the whole number)
  + (ratio / 3 rounded up to the whole number) > 1
define a_total as (total of p.cost for each p in parts where (p.spare)) > £10 and works > £10
define a_total_all as (total of p.cost for each p in parts) >= £500 and everything >= £500

decision grant is money
rule grant_default
  by default grant is the smaller of (the greater of (amount - limit) and £0) and £200
rule grant_flag
  exception to grant_default
  when flag
  then grant is (if count > 2 then £50 else amount) rounded down to the pound
rule grant_big
  exception to grant_default
  when a_total_all
  then grant is £50

decision doubled is number
rule doubled_default
  by default doubled is ratio * 2

decision plan
  outcomes keep, grow, cut, pause

rule keep_default
  by default plan is keep
rule grow_when_greater
  exception to keep_default
  when a_greater and a_if
  then plan is grow
rule cut_when_smaller
  exception to keep_default
  when a_smaller and (a_round or a_round_more) and not a_greater
  then plan is cut
rule pause_on_totals
  exception to cut_when_smaller
  when a_total or a_round_whole or a_scale
  then plan is pause
"""

POLICIES = {"scalars": SCALARS, "lists": LISTS, "bounds": BOUNDS, "amounts": AMOUNTS}

DATES = ("2022-06-01", "2023-12-31", "2024-01-01", "2024-03-15", "2024-06-30", "2024-07-01", "2020-02-29", "2023-01-31", "2022-01-01")
#: Dates on both sides of the parameters' change (2023-01-01) and at its edges.
AS_OF = (date(2022, 12, 31), date(2023, 1, 1), date(2024, 4, 1))

_loaded: dict[str, Policy] = {}


def policy(key: str, folder: Path) -> Policy:
    """The corpus policy ``key``, loaded once per test run from a file in ``folder``."""
    if key not in _loaded:
        path = folder / f"{key}.rules"
        path.write_text(POLICIES[key], encoding="utf-8")
        _loaded[key] = load_policy(path)
    return _loaded[key]


def _scalar_facts(rng: random.Random) -> dict[str, Any]:
    amounts = (0, 1, 10, 50, 99, 100, 101, 200, 250, 1000, -5, -300)
    facts: dict[str, Any] = {
        "service": f"s{rng.randrange(10**6)}",
        "amount": rng.choice(amounts),
        "limit": rng.choice(amounts),
        "count": rng.choice((0, 1, 2, 3, 9, 10, 1, 2, 3, 9)),
        "ratio": rng.choice((0, 1, 2, -1, -3)),
        "share": rng.choice(("25%", "50%", "0%", "10%")),
        "start": rng.choice(DATES),
        "region": rng.choice(("north", "south", "east")),
        "home": rng.choice(("north", "south", "east")),
        "away": rng.choice(("north", "south", "east")),
        "label": rng.choice(("protected", "open", "closed", "review", "other", "Unknown", "n/a", "  ")),
        "flag": rng.random() < 0.5,
        "other": rng.random() < 0.5,
    }
    if rng.random() < 0.5:
        facts["backup"] = rng.random() < 0.5
    if facts["amount"] == facts["limit"] or rng.random() < 0.2:
        facts["limit"] = facts["amount"]  # equal bounds, often
    return facts


def _jobs(rng: random.Random) -> list[dict[str, Any]]:
    jobs = []
    for i in range(rng.choice((0, 0, 1, 2, 3))):
        job: dict[str, Any] = {
            "hours": rng.choice((0, 1, 2, 5, 6, 8, 9, 12)),
            "big": rng.random() < 0.5,
            "kind": rng.choice(("small", "large")),
            "due": rng.choice(DATES),
        }
        if rng.random() < 0.8:
            job["name"] = rng.choice((f"job {i}", f"job {i}", "unknown", " "))  # words that mean the name is not known
        jobs.append(job)
    return jobs


def _parts(rng: random.Random) -> list[dict[str, Any]]:
    """Items with no date field: as JSON text they are read as they are, unconverted."""
    labels = ("pump", "pump", "unknown", " ", "n/a")
    return [{"label": rng.choice(labels), "cost": rng.choice((0, 10, 11, 500)), "spare": rng.random() < 0.3} for _ in range(rng.choice((0, 1, 2)))]


def _list_facts(rng: random.Random) -> dict[str, Any]:
    return {
        "service": f"s{rng.randrange(10**6)}",
        "jobs": _jobs(rng),
        "parts": _parts(rng),
        "staff": rng.choice((0, 1, 2, 4)),
        "started": rng.choice(DATES),
        "flag": rng.random() < 0.5,
        "other": rng.random() < 0.5,
    }


def _bounds_facts(rng: random.Random) -> dict[str, Any]:
    amount = rng.choice((0, 50, 100))
    facts: dict[str, Any] = {"service": f"s{rng.randrange(10**6)}", "amount": amount}
    for name in ("l1", "l2", "l3", "l4"):
        facts[name] = rng.choice((amount, amount + 1, amount - 1, 10**6))
    for name in rng.sample(("l1", "l2", "l3", "l4"), rng.choice((0, 1, 1, 2))):
        del facts[name]
    return facts


def _amount_facts(rng: random.Random) -> dict[str, Any]:
    amounts = (0, 1, 50, 99, 100, 101, 200, 250, 500, 1000, -5, 217)
    parts = [{"cost": rng.choice((0, 10, 11, 250, 500)), "spare": rng.random() < 0.5} for _ in range(rng.choice((0, 1, 2, 3)))]
    return {
        "service": f"s{rng.randrange(10**6)}",
        "amount": rng.choice(amounts),
        "limit": rng.choice(amounts),
        "count": rng.choice((0, 1, 2, 3, 9)),
        "ratio": rng.choice((0, 1, 2, 4, 5, -1, -4)),
        "flag": rng.random() < 0.4,
        "parts": parts,
    }


_GENERATORS = {"scalars": _scalar_facts, "lists": _list_facts, "bounds": _bounds_facts, "amounts": _amount_facts}

#: Cases written by hand: the edges a generator may miss.
HAND_CASES: dict[str, list[dict[str, Any]]] = {
    "scalars": [
        {"amount": 0, "limit": 0, "count": 0, "ratio": 0, "share": "0%", "start": "2024-01-01", "region": "north", "home": "north", "away": "east",
         "label": "open", "flag": False, "other": False},
        {"amount": 100, "limit": 100, "count": 1, "ratio": 1, "share": "25%", "start": "2024-06-30", "region": "east", "home": "north",
         "label": "protected", "flag": True, "other": True, "backup": True},
        {"amount": -300, "limit": 10, "count": 9, "ratio": -3, "share": "50%", "start": "2023-12-31", "region": "south", "home": "south",
         "label": "review", "flag": True, "other": False},
        {"amount": 1000, "limit": 1, "count": 2, "ratio": 2, "share": "10%", "start": "2024-07-01", "region": "north", "home": "east",
         "label": "closed", "flag": False, "other": True},
        {"amount": 10**61 + 7, "limit": 10**61 + 6, "count": 2, "ratio": 2, "share": "10%", "start": "2024-07-01", "region": "north", "home": "east",
         "label": "closed", "flag": False, "other": True},
    ],
    "lists": [
        {"jobs": [], "staff": 0, "started": "2024-01-01", "flag": True, "other": False},
        {"jobs": [{"name": "a", "hours": 8, "big": True, "kind": "large", "due": "2024-07-01"},
                  {"name": "b", "hours": 8, "big": True, "kind": "large", "due": "2024-01-01"}],
         "staff": 1, "started": "2024-01-01", "flag": True, "other": True},
        {"jobs": [{"hours": 1, "big": False, "kind": "small", "due": "2022-06-01"}], "staff": 4, "started": "2024-01-01", "flag": False, "other": False},
    ],
    "bounds": [{"amount": 100, "l1": 10**6, "l2": 10**6, "l3": 10**6, "l4": 10**6}],
    "amounts": [
        {"amount": 100, "limit": 100, "count": 3, "ratio": 5, "flag": True, "parts": [{"cost": 500, "spare": True}]},
        {"amount": 250, "limit": 40, "count": 0, "ratio": -4, "flag": False, "parts": [{"cost": 11, "spare": True}, {"cost": 500, "spare": False}]},
        {"amount": 10**61 + 7, "limit": 3, "count": 1, "ratio": 1, "flag": True, "parts": []},
        {"amount": 49, "limit": 99, "count": 2, "ratio": 2, "flag": False, "parts": [{"cost": 10}, {"spare": True}]},
    ],
}  # fmt: skip


def _without(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The facts with one or two of them missing (never the service's name), or a list item's field missing."""
    out = dict(facts)
    names = [k for k in out if k != "service"]
    for name in rng.sample(names, rng.choice((1, 1, 2))):
        del out[name]
    if out.get("jobs") and rng.random() < 0.5:
        jobs = [dict(j) for j in out["jobs"]]
        job = rng.choice(jobs)
        job.pop(rng.choice(sorted(job)), None)
        out["jobs"] = jobs
    return out


#: How many services each generator makes: the bounds policy has few forms, so fewer suffice.
COUNTS = {"scalars": 160, "lists": 160, "bounds": 60, "amounts": 120}


def cases(key: str, count: int | None = None, seed: int = 12) -> list[dict[str, Any]]:
    """The corpus for one policy: hand-written edges, generated facts, and the same with facts missing."""
    count = COUNTS[key] if count is None else count
    rng = random.Random(f"{key}-{seed}")
    make = _GENERATORS[key]
    out = [dict(c) for c in HAND_CASES[key]]
    for _ in range(count):
        facts = make(rng)
        out.append(facts)
        if rng.random() < 0.3:
            out.append(_without(facts, rng))
    for facts in HAND_CASES[key]:
        for name in facts:
            out.append({k: v for k, v in facts.items() if k != name})
    return out


def as_text(facts: dict[str, Any]) -> dict[str, str]:
    """The facts as the cells of a CSV register give them: every value text, lists as JSON."""
    out = {}
    for name, value in facts.items():
        if isinstance(value, bool):
            out[name] = "yes" if value else "no"
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = str(value)
    return out


def in_other_shapes(facts: dict[str, Any]) -> Mapping[str, Any]:
    """The facts as other programs give them: amounts as ``Decimal`` or float, yes/no as words, inside a read-only mapping."""

    def shaped(value: Any, depth: int) -> Any:
        if isinstance(value, bool):
            return "Yes" if value else "no"
        if isinstance(value, int):
            return Decimal(value) if depth % 2 == 0 else float(value)
        if isinstance(value, list):
            return [{k: shaped(v, depth + 1) for k, v in item.items()} for item in value]
        return value

    return MappingProxyType({name: shaped(value, index) for index, (name, value) in enumerate(facts.items())})


def outcome(decide: Any) -> Any:
    """The decision's JSON (``to_dict``), or the message of the error it raised: what every mode must agree on."""
    try:
        return decide().to_dict()
    except PolicyError as error:
        return ("error", type(error).__name__, str(error))


# --- what each form evaluated to, by an interpreter independent of the engine ---------------------------------------


def expressions(model: Any) -> Iterator[tuple[n.Expr, tuple[str, ...], n.Expr | None]]:
    """Every expression node of the policy, with the list items in scope and its nearest yes/no ancestor."""
    from policy_rules.engine.values import Type

    yes_no = Type("yes/no")

    def walk(e: Any, items: tuple[str, ...], condition: Any) -> Iterator[tuple[Any, tuple[str, ...], Any]]:
        own = e if model.types.get(id(e)) == yes_no and not isinstance(e, n.Literal) else condition
        yield e, items, own
        inner = (*items, e.item) if isinstance(e, n.Over | n.Total) else items
        for child in children(e):
            scoped = child is getattr(e, "condition", None) or (isinstance(e, n.Total) and child is e.value)
            yield from walk(child, inner if scoped else items, own)

    for define in model.defines.values():
        body = define.body
        roots = body.members if isinstance(body, n.ReasonsSet) else (body,)
        for root in roots:
            yield from walk(root, (), None)
    for rule in model.rules.values():
        decision = model.decisions[rule.decision.name]
        items = (decision.for_each.item,) if decision.for_each else ()
        for root in (rule.condition, rule.conclusion):
            if root is not None:
                yield from walk(root, items, None)


def children(e: Any) -> tuple[Any, ...]:
    """The expressions directly inside one expression, found from its attrs fields (so a new form is walked too)."""
    import attrs

    out: list[Any] = []
    for field in attrs.fields(type(e)):
        if field.name == "span":
            continue
        value = getattr(e, field.name)
        values = value if isinstance(value, tuple) else (value,)
        out.extend(v for v in values if attrs.has(type(v)) and not isinstance(v, n.Span))
    return tuple(out)


def truths(pol: Policy, facts: dict[str, Any], as_of: date) -> Iterator[tuple[n.Expr, Any]]:
    """Each expression node with the truth of its nearest yes/no ancestor (itself when it is a condition), by the ``Oracle``.

    A node inside ``any j in jobs where ...`` is evaluated once for each item.
    Nodes that cannot be evaluated on these facts (a conflict, a division
    by zero) are left out.
    """
    compiled = pol._compiled
    typed, _service = pol.facts_of(facts)
    oracle = Oracle(compiled, typed, as_of)
    for node, items, condition in expressions(compiled.model):
        if condition is None:
            continue
        for binding in _bindings(compiled, typed, items):
            try:
                value = oracle.value(condition, binding)
            except Exception:  # a conflict or an error: nothing to record for this node here
                continue
            yield node, value


class OracleConflict(Exception):
    """Two exceptions to one rule apply."""


class Oracle:
    """A tree-walking three-valued interpreter over the AST, written apart from the code generator: the corpus's second opinion on every form.

    Kleene's logic without any of the engine's machinery (no short cuts, no
    atoms, no memo): every operand is worked out and the value follows from
    the table of each form. ``items`` maps each list item in scope to
    ``(collection, index, record)``.
    """

    COMPARE: ClassVar[dict[str, Any]] = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    ARITH: ClassVar[dict[str, Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

    def __init__(self, compiled: Any, facts: Mapping[str, Any], as_of: date) -> None:
        self.model = compiled.model
        self.parameters = compiled.parameters
        self.facts = facts
        self.as_of = as_of

    def value(self, e: Any, items: Mapping[str, Any]) -> Any:
        if isinstance(e, n.Literal):
            return e.value
        if isinstance(e, n.Name):
            return self.name(e, items)
        if isinstance(e, n.Field):
            return items[e.item][2].get(e.field, UNKNOWN)
        if isinstance(e, n.Not | n.Neg | n.Length):
            v = self.value(e.operand if not isinstance(e, n.Length) else e.collection, items)
            if v is UNKNOWN:
                return UNKNOWN
            return not v if isinstance(e, n.Not) else -v if isinstance(e, n.Neg) else Decimal(len(v))
        if isinstance(e, n.Compare | n.Arith):
            a, b = self.value(e.left, items), self.value(e.right, items)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            if isinstance(e, n.Arith) and (isinstance(a, date) or isinstance(b, date)):
                day, length = (a, b) if isinstance(a, date) else (b, a)
                return _oracle_shift(day, length, -1 if e.op == "-" else 1)
            return (self.COMPARE if isinstance(e, n.Compare) else self.ARITH)[e.op](a, b)
        if isinstance(e, n.Between):
            v, low, high = (self.value(x, items) for x in (e.operand, e.low, e.high))
            return UNKNOWN if UNKNOWN in (v, low, high) else low <= v <= high
        if isinstance(e, n.Today):
            return self.as_of
        if isinstance(e, n.DateDiff):
            a, b = self.value(e.start, items), self.value(e.end, items)
            return UNKNOWN if UNKNOWN in (a, b) else Decimal(_oracle_count(e.unit, a, b))
        if isinstance(e, n.Within):
            v, length, centre = (self.value(x, items) for x in (e.operand, e.length, e.centre))
            if UNKNOWN in (v, length, centre):
                return UNKNOWN
            inside = _oracle_shift(centre, length, -1) <= v <= _oracle_shift(centre, length, 1)
            return inside != e.negated
        if isinstance(e, n.Member):
            v, options = self.value(e.operand, items), [self.value(o, items) for o in e.options]
            if v is UNKNOWN:
                return UNKNOWN
            if any(o is not UNKNOWN and o == v for o in options):
                return not e.negated
            return UNKNOWN if UNKNOWN in options else e.negated
        if isinstance(e, n.Test):
            if e.test == "known":
                target = e.operand
                given = items[target.item][2] if isinstance(target, n.Field) else self.facts
                return (given.get(target.field if isinstance(target, n.Field) else target.name, UNKNOWN) is not UNKNOWN) != e.negated
            v = self.value(e.operand, items)
            return UNKNOWN if v is UNKNOWN else (len(v) == 0) != e.negated
        if isinstance(e, n.BoolOp):
            return self.kleene("all" if e.op == "and" else "any", [self.value(x, items) for x in e.operands], 1)
        if isinstance(e, n.Over):
            records = self.value(e.collection, items)
            if records is UNKNOWN:
                return UNKNOWN
            values = [self.value(e.condition, {**items, e.item: (e.collection.name, i, r)}) for i, r in enumerate(records)]
            if e.quantifier == "count":
                return UNKNOWN if UNKNOWN in values else Decimal(values.count(True))
            return self.kleene({"every": "all", "no": "none"}.get(e.quantifier, e.quantifier), values, 1)
        if isinstance(e, n.CountOf):
            conditions = self.model.defines[e.reasons.name].body.members if e.reasons is not None else e.conditions
            return self.kleene(e.quantifier, [self.value(c, items) for c in conditions], int(e.at_least))
        if isinstance(e, n.Extreme):
            a, b = (self.value(x, items) for x in e.operands)
            if UNKNOWN in (a, b):
                return UNKNOWN
            return (max if e.which == "greater" else min)(a, b)
        if isinstance(e, n.Rounded):
            v = self.value(e.operand, items)
            if v is UNKNOWN:
                return UNKNOWN
            unit = Decimal("0.01") if e.unit == "penny" else Decimal(1)
            steps = v / unit
            half_away = math.floor(abs(steps) + Decimal("0.5")) * (1 if steps >= 0 else -1)  # a half goes away from zero
            whole = {"down": math.floor(steps), "up": math.ceil(steps), "nearest": half_away}[e.direction]
            return Decimal(whole) * unit
        if isinstance(e, n.Conditional):
            c = self.value(e.condition, items)
            if c is not UNKNOWN:
                return self.value(e.then if c else e.otherwise, items)
            a, b = self.value(e.then, items), self.value(e.otherwise, items)
            return a if UNKNOWN not in (a, b) and a == b else UNKNOWN
        if isinstance(e, n.Total):
            records = self.value(e.collection, items)
            if records is UNKNOWN:
                return UNKNOWN
            total: Any = Decimal(0)
            for i, r in enumerate(records):
                inner = {**items, e.item: (e.collection.name, i, r)}
                holds = True if e.condition is None else self.value(e.condition, inner)
                if holds is False:
                    continue
                v = self.value(e.value, inner)
                total = UNKNOWN if UNKNOWN in (holds, v, total) else total + v
            return total
        if isinstance(e, n.ScaleApplied):
            scale, x = self.name(e.scale, items), self.value(e.amount, items)
            if x is UNKNOWN:
                return UNKNOWN
            if scale.kind == "banded":
                reached = [v for t, v in zip(scale.thresholds, scale.values, strict=True) if x >= t]
                return reached[-1] if reached else scale.values[0]
            tops = [*scale.thresholds[1:], None]
            parts = (r * max(Decimal(0), (x if top is None else min(x, top)) - t) for t, top, r in zip(scale.thresholds, tops, scale.values, strict=True))
            return sum(parts, Decimal(0))
        raise AssertionError(f"the oracle has no meaning for {type(e).__name__}")

    @staticmethod
    def kleene(quantifier: str, values: list[Any], at_least: int) -> Any:
        true, unknown = values.count(True), sum(v is UNKNOWN for v in values)
        if quantifier == "any":
            return True if true else UNKNOWN if unknown else False
        if quantifier == "none":
            return False if true else UNKNOWN if unknown else True
        if quantifier == "all":
            return False if len(values) - true - unknown else UNKNOWN if unknown else True
        return True if true >= at_least else False if true + unknown < at_least else UNKNOWN

    def name(self, e: n.Name, items: Mapping[str, Any]) -> Any:
        ref = self.model.refs[id(e)]
        if ref.kind == "value":
            return ref.name
        if ref.kind == "fact":
            return self.facts.get(ref.name, UNKNOWN)
        if ref.kind == "item":
            return items[ref.name]
        if ref.kind == "parameter":
            return next(v for start, until, v in self.parameters[ref.name] if start <= self.as_of and (until is None or self.as_of <= until))
        if ref.kind == "define":
            body = self.model.defines[ref.name].body
            if not isinstance(body, n.ReasonsSet):
                return self.value(body, {})
            values = [self.value(m, {}) for m in body.members]
            held = tuple(m.name for m, v in zip(body.members, values, strict=True) if v is True)
            return UNKNOWN if UNKNOWN in values and not held else held
        return self.rule(self.model.default_rule[ref.name])[1]

    def rule(self, label: str) -> tuple[str, Any]:
        """Catala's default logic: ("v", value) applies, ("e", None) does not, ("m", value) may."""
        results = [self.rule(child) for child in self.model.children.get(label, [])]
        applied = [v for kind, v in results if kind == "v"]
        maybes = [v for kind, v in results if kind == "m"]
        if len({v for v in applied if v is not UNKNOWN}) > 1:
            raise OracleConflict(label)  # agreeing grounds (the same value) are not a conflict
        if applied:
            together = set(applied) | set(maybes)
            return ("v", next(iter(together)) if len(together) == 1 else UNKNOWN)
        decl = self.model.rules[label]
        holds = True if decl.condition is None else self.value(decl.condition, {})
        own = ("e", None) if holds is False else ("v" if holds is True else "m", self.value(decl.conclusion, {}))
        if not maybes:
            return own
        values = set(maybes) | ({own[1]} if own[0] != "e" else set())
        return ("v" if own[0] == "v" else "m", next(iter(values)) if len(values) == 1 else UNKNOWN)


def _bindings(compiled: Any, typed: dict[str, Any], items: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Every assignment of list items to the item names in scope (items of the one list fact each ranges over)."""
    if not items:
        yield {}
        return
    lists = {name: typed.get(name, ()) for name, t in compiled.model.fact_types.items() if t.kind == "list"}
    collection = next(iter(lists), None)
    records = lists.get(collection, ()) if collection else ()
    for rest in _bindings(compiled, typed, items[1:]):
        for index, record in enumerate(records if isinstance(records, tuple | list) else ()):
            yield {items[0]: (collection, index, record), **rest}


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


def _oracle_shift(day: date, length: tuple[int, int], sign: int) -> date:
    """``day`` moved by a period ``(months, days)``, one month at a time, clamped to the month's last day, then by days."""
    months, days = length
    year, month = day.year, day.month
    for _ in range(abs(months)):
        month += sign
        if month == 13:
            year, month = year + 1, 1
        elif month == 0:
            year, month = year - 1, 12
    moved = date(year, month, min(day.day, _month_length(year, month)))
    return date.fromordinal(moved.toordinal() + sign * days)


def _oracle_count(unit: str, start: date, end: date) -> int:
    """Whole years, months or days from ``start`` to ``end``, counting anniversaries one by one (a missing day is the next month's first)."""
    if unit == "days":
        return end.toordinal() - start.toordinal()
    if end < start:
        return -_oracle_count(unit, end, start)
    step = 12 if unit == "years" else 1
    count = 0
    while True:
        months = (count + 1) * step
        year, month = start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1
        length = _month_length(year, month)
        anniversary = date(year, month, start.day) if start.day <= length else date(year + month // 12, month % 12 + 1, 1)
        if anniversary > end:
            return count
        count += 1
