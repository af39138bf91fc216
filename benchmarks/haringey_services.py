"""Generated Haringey services for tests and benchmarks: realistic, reproducible, varied.

``generate(n, seed, missing=0.0)`` gives ``n`` services as facts mappings in
the form a facts file gives them. With ``missing`` above zero, each fact is
left out with that probability, so some decisions are undetermined.
"""

from __future__ import annotations

import random
from typing import Any

YES_NO = (
    "quality_concerns",
    "personal_contact",
    "at_risk_groups",
    "affects_rights",
    "exceptional_worker_demands",
    "build_capacity",
    "has_capacity",
    "has_capability",
    "safeguarding_concern",
    "delivery_risk",
    "environmentally_sustainable",
    "other_provider_better_placed",
    "nhs_expertise",
    "vcs_reach",
    "public_partner_available",
    "local_provider_available",
)

# How often each yes/no fact holds, so that every outcome turns up.
LIKELY = {
    "has_capacity": 0.8,
    "has_capability": 0.8,
    "environmentally_sustainable": 0.9,
    "nhs_expertise": 0.08,
    "vcs_reach": 0.08,
    "safeguarding_concern": 0.06,
    "delivery_risk": 0.06,
    "other_provider_better_placed": 0.08,
}

AREAS = ("Adult social care", "Children's services", "Highways", "Housing repairs", "Facilities", "Libraries", "Parks", "Waste", "Leisure", "Public health")
KINDS = ("support", "maintenance", "advice", "cleaning", "transport", "outreach", "inspection", "catering")
PARTS = ("Cleaning", "Security", "Reception", "Lift maintenance", "Catering", "Grounds", "Specialist plant", "Mechanical and electrical")


def generate(n: int, seed: int = 2019, missing: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    services = []
    for i in range(n):
        spend = rng.randrange(50, 20_000) * 1_000
        facts: dict[str, Any] = {
            "service": f"{rng.choice(AREAS)} {rng.choice(KINDS)} {i + 1}",
            "annual_spend": spend,
            "in_house_annual_cost": int(spend * rng.uniform(0.8, 1.25)),
            "budget_available": int(spend * rng.uniform(0.85, 1.3)),
        }
        for name in YES_NO:
            facts[name] = rng.random() < LIKELY.get(name, 0.2)
        if rng.random() < 0.3:
            count = rng.randrange(1, 5)
            facts["elements"] = [{"name": rng.choice(PARTS), "specialist": rng.random() < 0.3} for _ in range(count)]
            # Some parts were assessed as better placed elsewhere; drawn apart, so the services above stay as they were.
            assessed = random.Random(seed * 1_000_003 + i)
            for element in facts["elements"]:
                if assessed.random() < 0.25:
                    element["other_provider_better_placed"] = assessed.random() < 0.4
        if rng.random() < 0.5:
            facts["contract_end_date"] = f"{rng.randrange(2020, 2031)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            facts["staff"] = rng.randrange(0, 300)
        if missing:
            for name in [*YES_NO, "annual_spend", "in_house_annual_cost", "budget_available"]:
                if rng.random() < missing:
                    del facts[name]
            for element in facts.get("elements", []):
                if rng.random() < missing:
                    del element["specialist"]
        services.append(facts)
    return services


CSV_FIELDS = ("service", "annual_spend", "in_house_annual_cost", "budget_available", *YES_NO, "elements", "contract_end_date", "staff")


def write_csv(services: list[dict[str, Any]], path: str) -> None:
    """A register CSV: one service a row; ``elements`` as a JSON list in its cell."""
    import csv
    import json

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for s in services:
            row = []
            for name in CSV_FIELDS:
                value = s.get(name)
                if value is None:
                    row.append("")
                elif name == "elements":
                    row.append(json.dumps(value))
                elif isinstance(value, bool):
                    row.append("yes" if value else "no")
                else:
                    row.append(str(value))
            writer.writerow(row)
