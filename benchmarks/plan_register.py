"""Generated registers for the insourcing planner: the example in `examples/` and the benchmark's 2,000 services.

``generate(n, seed)`` gives ``n`` Haringey services as a facts file gives them,
each with what the planner reads: a contract end date spread over the years
around the programme, the staff who would transfer, the current spend and
the in-house cost. The first services take the names of real council
services, with staff and spend of their size; the rest are numbered.
``missing`` leaves a fact out with that chance, so some services cannot be
planned yet. Run ``python -m benchmarks.plan_register FILE`` to write the
example register.
"""

from __future__ import annotations

import random
import sys
from typing import Any

from benchmarks.haringey_services import AREAS, KINDS, YES_NO, write_csv

#: Council services (name, typical staff, typical yearly spend in £ thousand).
SERVICES = (
    ("Household waste collection", 180, 9_400),
    ("Street cleansing", 95, 4_200),
    ("Parks grounds maintenance", 48, 1_900),
    ("Council housing responsive repairs", 140, 11_000),
    ("Void property repairs", 40, 2_600),
    ("Office cleaning", 35, 900),
    ("School catering", 120, 5_800),
    ("Civic centre security and reception", 22, 700),
    ("Highways maintenance", 60, 6_500),
    ("Street lighting maintenance", 12, 1_100),
    ("Pest control", 6, 310),
    ("Parking enforcement", 45, 2_300),
    ("Home care for older people", 210, 14_000),
    ("Supported living for adults with learning disabilities", 85, 7_200),
    ("Day opportunities", 30, 1_600),
    ("Meals on wheels", 18, 650),
    ("Home-to-school travel escorts", 55, 1_900),
    ("Youth outreach", 14, 520),
    ("Children's centres", 38, 2_100),
    ("Family support", 26, 1_400),
    ("Libraries book supply and logistics", 8, 450),
    ("Leisure centre management", 95, 2_700),
    ("Community alarm monitoring", 16, 600),
    ("Careers advice for young people", 11, 480),
    ("Debt and welfare advice", 13, 560),
    ("Housing options and homelessness prevention", 28, 1_500),
    ("Temporary accommodation management", 24, 3_100),
    ("Tenancy sustainment", 15, 700),
    ("Graffiti and fly-tip removal", 20, 850),
    ("Tree maintenance", 10, 640),
    ("Cemeteries and crematorium grounds", 9, 420),
    ("Building cleaning for housing blocks", 42, 1_300),
    ("Concierge for housing estates", 33, 1_050),
    ("Fleet maintenance", 17, 1_200),
    ("IT service desk", 25, 1_800),
    ("Payroll processing", 12, 750),
    ("Revenues and benefits processing", 70, 3_900),
    ("Occupational health", 7, 380),
    ("Translation and interpreting", 5, 260),
    ("Sexual health clinics", 40, 3_300),
    ("Stop smoking service", 6, 290),
    ("Drug and alcohol recovery", 32, 2_900),
    ("Adult education classes", 19, 900),
    ("Market management", 6, 240),
    ("Facilities management for civic buildings", 50, 2_400),
)
#: How often each yes/no fact holds: most services of a programme register are ones the council can bring in.
LIKELY = {
    "has_capacity": 0.85,
    "has_capability": 0.8,
    "environmentally_sustainable": 0.96,
    "safeguarding_concern": 0.04,
    "delivery_risk": 0.04,
    "other_provider_better_placed": 0.05,
    "nhs_expertise": 0.04,
    "vcs_reach": 0.05,
    "public_partner_available": 0.3,
    "local_provider_available": 0.3,
}
PARTS = (("Cleaning", False), ("Security", False), ("Reception", False), ("Lift maintenance", True), ("Specialist plant", True), ("Catering", False))


def generate(n: int, seed: int = 2027, *, first_year: int = 2026, years: int = 5, missing: float = 0.0) -> list[dict[str, Any]]:
    """``n`` services whose contracts end between ``first_year`` and ``first_year + years``, as facts mappings."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i < len(SERVICES):
            name, staff, spend_k = SERVICES[i]
            staff = max(1, round(staff * rng.uniform(0.8, 1.2)))
        else:
            name = f"{rng.choice(AREAS)} {rng.choice(KINDS)} {i + 1}"
            staff = max(1, round(rng.lognormvariate(3.0, 0.9)))
            spend_k = round(staff * rng.uniform(28, 60))
        spend = spend_k * 1_000
        in_house = int(round(spend * rng.uniform(0.85, 1.15), -3))
        facts: dict[str, Any] = {
            "service": name,
            "annual_spend": spend,
            "in_house_annual_cost": in_house,
            "budget_available": int(round(in_house * rng.uniform(0.97, 1.3), -3)),
        }
        for fact in YES_NO:
            facts[fact] = rng.random() < LIKELY.get(fact, 0.1)
        if rng.random() < 0.15:
            chosen = rng.sample(PARTS, rng.randrange(2, 4))
            facts["elements"] = [{"name": part, "specialist": specialist} for part, specialist in chosen]
        facts["contract_end_date"] = f"{first_year + rng.randrange(years)}-{rng.randrange(1, 13):02d}-{rng.choice((15, 28))}"
        facts["staff"] = staff
        for fact in ("contract_end_date", "staff", "safeguarding_concern", "has_capability"):
            if rng.random() < missing:
                del facts[fact]
        out.append(facts)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m benchmarks.plan_register FILE.csv", file=sys.stderr)
        return 2
    write_csv(generate(len(SERVICES), seed=2025, missing=0.04), argv[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
