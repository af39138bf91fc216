"""The Haringey reading written by hand in Python: the yardstick for the engine's speed.

It implements ``docs/haringey-policy-reading.md`` directly, for services whose
facts are all known (the engine's fast path), and returns what the engine's
decision reports: outcome, priority, reasons and element outcomes. It does
no validation and no explanation; that is what makes it the fastest honest
baseline.
"""

from __future__ import annotations

from typing import Any

REASON_FACTS = ("quality_concerns", "personal_contact", "at_risk_groups", "affects_rights", "exceptional_worker_demands")


def decide(f: dict[str, Any]) -> tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    cost = f["in_house_annual_cost"]
    affordable = cost <= f["budget_available"]
    value_for_money = cost < f["annual_spend"]
    elements = f.get("elements") or []
    specialist = [e["specialist"] or e.get("other_provider_better_placed", False) for e in elements]  # external, on either ground
    reasons = tuple(
        name
        for name, holds in (
            *((r, f[r]) for r in REASON_FACTS),
            ("value_for_money_gain", value_for_money),
            ("build_capacity", f["build_capacity"]),
        )
        if holds
    )
    mode = "in_house" if f["has_capacity"] and f["has_capability"] else "in_house_phased"
    if f["nhs_expertise"]:
        outcome = "partnership_nhs"
    elif f["vcs_reach"]:
        outcome = "partnership_vcs"
    elif (
        not affordable
        or f["safeguarding_concern"]
        or f["delivery_risk"]
        or not f["environmentally_sustainable"]
        or f["other_provider_better_placed"]
        or (specialist and all(specialist))
    ):
        if f["public_partner_available"]:
            outcome = "partnership_public"
        elif f["local_provider_available"]:
            outcome = "procure_local"
        else:
            outcome = "procure"
    elif any(specialist):
        outcome = "hybrid"
    else:
        outcome = mode
    if outcome in ("in_house", "in_house_phased", "hybrid"):
        priority = "high" if reasons else "standard"
    else:
        priority = "not_applicable"
    if outcome == "hybrid":
        parts = tuple((e["name"], "external" if e["specialist"] or e.get("other_provider_better_placed", False) else mode) for e in elements)
    else:
        parts = tuple((e["name"], outcome) for e in elements)
    return outcome, priority, reasons, parts
