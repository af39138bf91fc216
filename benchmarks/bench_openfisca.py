"""One workload in policy_rules and in OpenFisca's vectorised simulation, timed side by side (issue 28's amounts item).

Place: a benchmark beside ``bench_columnar``; the policy_rules side is the rule
set ``benchmarks/openfisca_workload/households.rules`` decided by
``Policy.decide_columns_counted``; the OpenFisca side is a small tax-benefit system of
its own, written here (entities person and household, three variables, a
marginal-rate scale with dated brackets in OpenFisca's parameter format).

    python -m benchmarks.bench_openfisca [--households 100000] [--repeat 5]

It prints how many households agree to the penny on each amount (OpenFisca
computes in float32, so its amounts are rounded to pennies first) and the
median of the per-turn ratios policy_rules / OpenFisca.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from policy_rules import load_policy
from policy_rules.engine import columnar

RULES = Path(__file__).resolve().parent / "openfisca_workload" / "households.rules"
AS_OF = date(2025, 6, 1)
PERIOD = "2025"
BRACKETS = [
    {"threshold": {"2015-01-01": {"value": 0}}, "rate": {"2015-01-01": {"value": 0}}},
    {"threshold": {"2015-01-01": {"value": 12570}, "2025-01-01": {"value": 12750}}, "rate": {"2015-01-01": {"value": 0.2}}},
    {"threshold": {"2015-01-01": {"value": 50270}}, "rate": {"2015-01-01": {"value": 0.4}, "2025-01-01": {"value": 0.42}}},
]


def openfisca_system() -> Any:
    """The same workload as an OpenFisca tax-benefit system: income tax per person by the scale, household totals, the capped benefit."""
    from openfisca_core.entities import build_entity
    from openfisca_core.model_api import YEAR, Variable, max_, min_, round_
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem

    person = build_entity(key="person", plural="persons", label="A person", is_person=True)
    household = build_entity(key="household", plural="households", label="A household", roles=[{"key": "member", "plural": "members", "label": "Member"}])

    class salary(Variable):
        value_type = float
        entity = person
        definition_period = YEAR
        label = "Salary"

    class income_tax(Variable):
        value_type = float
        entity = person
        definition_period = YEAR
        label = "Income tax"

        def formula(person: Any, period: Any, parameters: Any) -> Any:
            return round_(parameters(period).tax.calc(person("salary", period)), 2)

    class salaries(Variable):
        value_type = float
        entity = household
        definition_period = YEAR
        label = "Household salaries"

        def formula(household: Any, period: Any, parameters: Any) -> Any:
            return household.sum(household.members("salary", period))

    class household_tax(Variable):
        value_type = float
        entity = household
        definition_period = YEAR
        label = "Household income tax"

        def formula(household: Any, period: Any, parameters: Any) -> Any:
            return household.sum(household.members("income_tax", period))

    class benefit(Variable):
        value_type = float
        entity = household
        definition_period = YEAR
        label = "Capped benefit"

        def formula(household: Any, period: Any, parameters: Any) -> Any:
            return round_(max_(0, min_(4000, 9000 - household("salaries", period) * 0.25)), 2)

    system = TaxBenefitSystem([person, household])
    system.add_variables(salary, income_tax, salaries, household_tax, benefit)
    system.parameters = ParameterNode("", data={"tax": {"brackets": BRACKETS}})
    return system


def workload(households: int, seed: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Two members a household, salaries in pennies from £0 to £120,000 (all different, as incomes are)."""
    rng = np.random.default_rng(seed)
    pennies = rng.integers(0, 12_000_000, size=2 * households)
    return pennies, np.repeat(np.arange(households), 2)


def openfisca_run(system: Any, pennies: np.ndarray, household_of: np.ndarray) -> dict[str, np.ndarray]:
    from openfisca_core.simulations import SimulationBuilder

    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", [str(i) for i in range(len(pennies))])
    count = int(household_of.max()) + 1
    instance = builder.declare_entity("household", [str(i) for i in range(count)])
    builder.join_with_persons(instance, [str(h) for h in household_of], ["member"] * len(pennies))
    simulation = builder.build(system)
    simulation.set_input("salary", PERIOD, pennies / 100)
    return {name: simulation.calculate(name, PERIOD) for name in ("salaries", "household_tax", "benefit")}


def table(policy: Any, pennies: np.ndarray, household_of: np.ndarray) -> Any:
    rows: list[dict[str, Any]] = [{"household": str(h), "members": []} for h in range(int(household_of.max()) + 1)]
    for i, (p, h) in enumerate(zip(pennies.tolist(), household_of.tolist(), strict=True)):
        rows[h]["members"].append({"name": str(i), "salary": Decimal(p) / 100})
    return columnar.table_of(policy.model, rows)


def agreement(ours: Any, theirs: dict[str, np.ndarray]) -> dict[str, int]:
    """Households whose amount is the same number of pennies on both sides (OpenFisca's float rounded to the penny)."""
    pairs = {"salaries": "salaries", "income_tax": "household_tax", "benefit": "benefit"}
    out = {}
    for mine, other in pairs.items():
        cents = [None if v is None else int(v * 100) for v in ours.column(mine).to_pylist()]
        floats = np.round(theirs[other].astype(np.float64) * 100).astype(np.int64).tolist()
        out[mine] = sum(a == b for a, b in zip(cents, floats, strict=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy(RULES)
    system = openfisca_system()
    pennies, household_of = workload(args.households)
    batch = table(policy, pennies, household_of)
    ratios, ours_s, theirs_s = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours, stats = policy.decide_columns_counted(batch, AS_OF)
        mid = time.perf_counter()
        theirs = openfisca_run(system, pennies, household_of)
        end = time.perf_counter()
        ours_s.append(mid - start)
        theirs_s.append(end - mid)
        ratios.append((mid - start) / (end - mid))
    print(f"households {args.households}, members {len(pennies)}; rows sent to the row path: {sum(stats.values())} {stats}")
    exact = np.add.reduceat(pennies, np.arange(0, len(pennies), 2))
    mine = [int(v * 100) for v in ours.column("salaries").to_pylist()]
    print(f"  salaries equal to the integer sum of pennies: policy_rules {sum(a == b for a, b in zip(mine, exact.tolist(), strict=True))}, ", end="")
    floats = np.round(theirs["salaries"].astype(np.float64) * 100).astype(np.int64)
    print(f"OpenFisca (float32) {int((floats == exact).sum())} of {args.households}")
    for name, agree in agreement(ours, theirs).items():
        print(f"  {name}: {agree} of {args.households} agree to the penny")
    print(f"  policy_rules decide_columns  median {statistics.median(ours_s):.3f} s")
    print(f"  OpenFisca build + calculate  median {statistics.median(theirs_s):.3f} s")
    print(f"  ratio policy_rules / OpenFisca (median of per-turn ratios): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
