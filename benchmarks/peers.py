"""The Haringey reading in two peer engines from PyPI, for speed comparisons in one run.

- GoRules ``zen-engine``: a JSON Decision Model graph of expression nodes.
- ``rule-engine``: one typed expression per derived value and per decision.

Both take the same facts mappings as the hand-written function and return the
same (outcome, priority, reasons, element outcomes); ``benchmarks/run.py``
checks that they agree on every service before timing them. They are
optional: ``pip install '.[bench]'``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

REASONS = ("quality_concerns", "personal_contact", "at_risk_groups", "affects_rights", "exceptional_worker_demands", "value_for_money_gain", "build_capacity")

_DERIVED = [
    ("affordable", "in_house_annual_cost <= budget_available"),
    ("vfm", "in_house_annual_cost < annual_spend"),
    ("some_specialist", "some(elements ?? [], #.external)"),
    ("all_specialist", "len(elements ?? []) > 0 and all(elements ?? [], #.external)"),
]
_DECIDE = [
    (
        "not_appropriate",
        "not affordable or safeguarding_concern or delivery_risk or not environmentally_sustainable or other_provider_better_placed or all_specialist",
    ),
    ("mode", "has_capacity and has_capability ? 'in_house' : 'in_house_phased'"),
    ("strong", "quality_concerns or personal_contact or at_risk_groups or affects_rights or exceptional_worker_demands or vfm or build_capacity"),
]
_OUTCOME = (
    "nhs_expertise ? 'partnership_nhs' : vcs_reach ? 'partnership_vcs' : "
    "not_appropriate ? (public_partner_available ? 'partnership_public' : local_provider_available ? 'procure_local' : 'procure') : "
    "some_specialist ? 'hybrid' : mode"
)
_PRIORITY = "outcome in ['in_house', 'in_house_phased', 'hybrid'] ? (strong ? 'high' : 'standard') : 'not_applicable'"


def _node(node_id: str, expressions: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "expressionNode",
        "name": node_id,
        "position": {"x": 0, "y": 0},
        "content": {"expressions": [{"id": f"{node_id}{i}", "key": k, "value": v} for i, (k, v) in enumerate(expressions)], "passThrough": True},
    }


def zen_graph() -> dict[str, Any]:
    stages = [_node("derive", _DERIVED), _node("decide", _DECIDE), _node("outcome", [("outcome", _OUTCOME)]), _node("priority", [("priority", _PRIORITY)])]
    nodes = [{"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}}, *stages]
    nodes.append({"id": "response", "type": "outputNode", "name": "response", "position": {"x": 0, "y": 0}})
    ids = [n["id"] for n in nodes]
    edges = [{"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"} for i, (a, b) in enumerate(itertools.pairwise(ids))]
    return {"nodes": nodes, "edges": edges}


def _finish(r: dict[str, Any], facts: dict[str, Any]) -> tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    outcome = r["outcome"]
    reasons = tuple(name for name in REASONS if (r["vfm"] if name == "value_for_money_gain" else facts[name]))
    elements = facts.get("elements") or []
    if outcome == "hybrid":
        parts = tuple((e["name"], "external" if _external(e) else r["mode"]) for e in elements)
    else:
        parts = tuple((e["name"], outcome) for e in elements)
    return outcome, r["priority"], reasons, parts


def _external(element: dict[str, Any]) -> bool:
    """A part is external when specialist or assessed as better placed elsewhere (an absent assessment is "no")."""
    return bool(element["specialist"] or element.get("other_provider_better_placed", False))


def _with_external(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts with each part's `external` worked out first: neither peer reads an optional field absent from a part."""
    if not facts.get("elements"):
        return facts
    return {**facts, "elements": [{**e, "external": _external(e)} for e in facts["elements"]]}


def zen_decider() -> Callable[[dict[str, Any]], Any]:
    import zen

    decision = zen.ZenEngine().create_decision(json.dumps(zen_graph()))

    def decide(facts: dict[str, Any]) -> Any:
        return _finish(decision.evaluate(_with_external(facts))["result"], facts)

    return decide


def rule_engine_decider() -> Callable[[dict[str, Any]], Any]:
    import rule_engine

    context = rule_engine.Context(default_value=None)

    def rule(text: str) -> Any:
        return rule_engine.Rule(text, context=context)

    affordable = rule("in_house_annual_cost <= budget_available")
    vfm = rule("in_house_annual_cost < annual_spend")
    some_specialist = rule("elements != null and [e for e in elements if e['external']].length > 0")
    all_specialist = rule("elements != null and elements.length > 0 and [e for e in elements if not e['external']].length == 0")
    not_appropriate = rule(
        "not affordable or safeguarding_concern or delivery_risk or not environmentally_sustainable or other_provider_better_placed or all_specialist"
    )
    mode = rule("has_capacity and has_capability ? 'in_house' : 'in_house_phased'")
    outcome = rule(_OUTCOME.replace("some_specialist ?", "some_specialist ?"))
    strong = rule("quality_concerns or personal_contact or at_risk_groups or affects_rights or exceptional_worker_demands or vfm or build_capacity")
    priority = rule("outcome in ['in_house', 'in_house_phased', 'hybrid'] ? (strong ? 'high' : 'standard') : 'not_applicable'")

    def decide(facts: dict[str, Any]) -> Any:
        thing = dict(_with_external(facts))
        thing.setdefault("elements", None)
        thing["affordable"] = affordable.evaluate(thing)
        thing["vfm"] = vfm.evaluate(thing)
        thing["some_specialist"] = some_specialist.evaluate(thing)
        thing["all_specialist"] = all_specialist.evaluate(thing)
        thing["not_appropriate"] = not_appropriate.evaluate(thing)
        thing["mode"] = mode.evaluate(thing)
        thing["outcome"] = outcome.evaluate(thing)
        thing["strong"] = strong.evaluate(thing)
        thing["priority"] = priority.evaluate(thing)
        return _finish(thing, facts)

    return decide
