"""One workload in policy_rules and in OpenFisca's vectorised simulation, timed side by side (issue 28's amounts item).

Place: a benchmark beside ``bench_columnar``; the policy_rules side is the rule
set ``benchmarks/openfisca_workload/households.rules`` decided by
``Policy.decide_columns_counted``; the OpenFisca side is a small tax-benefit system of
its own, written here (entities person and household, three variables, a
marginal-rate scale with dated brackets in OpenFisca's parameter format).

    python -m benchmarks.bench_openfisca [--households 100000] [--repeat 5]

Both sides start from the same numpy arrays (each member's salary in pennies,
each member's household) and are timed, in turns, on getting from them to the
three household amounts: policy_rules builds its Arrow table and decides it,
OpenFisca builds its simulation and calculates; each step is also timed alone,
so the computation (``decide_columns`` against ``calculate``) is compared too.
It prints, for each amount, in how many households policy_rules equals an
exact reference worked out here in Python integers, in how many OpenFisca's
float32 does to the penny and within float32's rounding, and the medians of
the per-turn ratios policy_rules / OpenFisca.
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
import pyarrow as pa

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


def openfisca_built(system: Any, pennies: np.ndarray, household_of: np.ndarray) -> Any:
    """OpenFisca's simulation of the workload from the arrays: entities declared by id, persons joined to households, salaries set.

    Its quickest public route: ids and households as numpy arrays and roles as
    integers (the same results as string ids and role keys, sooner).
    """
    from openfisca_core.simulations import SimulationBuilder

    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", np.arange(len(pennies)))
    count = int(household_of.max()) + 1
    instance = builder.declare_entity("household", np.arange(count))
    builder.join_with_persons(instance, household_of, np.zeros(len(pennies), dtype=np.int64))
    simulation = builder.build(system)
    simulation.set_input("salary", PERIOD, pennies / 100)
    return simulation


def openfisca_calculated(simulation: Any) -> dict[str, np.ndarray]:
    return {name: simulation.calculate(name, PERIOD) for name in ("salaries", "household_tax", "benefit")}


def table(policy: Any, pennies: np.ndarray, household_of: np.ndarray) -> Any:
    """The register as the tests give one: facts mappings, typed by ``columnar.table_of`` (not timed: a check that ``arrow_table`` reads the same)."""
    rows: list[dict[str, Any]] = [{"household": str(h), "members": []} for h in range(int(household_of.max()) + 1)]
    for i, (p, h) in enumerate(zip(pennies.tolist(), household_of.tolist(), strict=True)):
        rows[h]["members"].append({"name": str(i), "salary": Decimal(p) / 100})
    return columnar.table_of(policy.model, rows)


def arrow_table(pennies: np.ndarray, household_of: np.ndarray) -> pa.Table:
    """The register as Arrow columns built from the same arrays OpenFisca is given (timed, as OpenFisca's building is).

    Households and members are named by their index, as OpenFisca's ids are;
    salaries are a decimal128 column of pennies (two places), written from the
    int64 pennies into its buffer as a Parquet reader would hand it over.
    """
    count = int(household_of.max()) + 1
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.bincount(household_of, minlength=count), out=offsets[1:])
    words = np.empty((len(pennies), 2), dtype=np.int64)
    words[:, 0] = pennies
    words[:, 1] = pennies >> 63
    salary = pa.Array.from_buffers(pa.decimal128(20, 2), len(pennies), [None, pa.py_buffer(words)])
    names = pa.array(np.arange(len(pennies))).cast(pa.string())
    members = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([names, salary], ["name", "salary"]))
    return pa.table({"household": pa.array(np.arange(count)).cast(pa.string()), "members": members})


def exact_reference(pennies: np.ndarray, household_of: np.ndarray) -> dict[str, list[int]]:
    """The three amounts of every household in pennies, worked out in Python integers from the rules as written (no engine, no float)."""
    low, high = 1_275_000, 5_027_000  # the 2025 thresholds in pennies; rates 20% and 42%
    count = int(household_of.max()) + 1
    salaries, tax = [0] * count, [0] * count
    for p, h in zip(pennies.tolist(), household_of.tolist(), strict=True):
        hundredths = max(0, min(p, high) - low) * 20 + max(0, p - high) * 42  # tax in hundredths of a penny
        salaries[h] += p
        tax[h] += (hundredths + 50) // 100  # to the nearest penny, a half up
    quarters = [max(0, min(4 * 400_000, 4 * 900_000 - s)) for s in salaries]  # the benefit in quarter pennies
    return {"salaries": salaries, "income_tax": tax, "benefit": [(q + 2) // 4 for q in quarters]}


def pennies_of(column: Any) -> list[int | None]:
    return [None if v is None else int(v * 100) for v in column.to_pylist()]


def openfisca_agreement(exact: dict[str, list[int]], theirs: dict[str, np.ndarray]) -> dict[str, tuple[int, int, float]]:
    """For each amount: households where OpenFisca's float32 is the exact amount to the penny; those within float32's rounding of it (a
    penny, plus four float32 steps at the household's salaries, the largest quantity its computation holds); and its largest difference.
    """
    pairs = {"salaries": "salaries", "income_tax": "household_tax", "benefit": "benefit"}
    scale = np.spacing(theirs["salaries"].astype(np.float32)).astype(np.float64) * 100
    out = {}
    for mine, other in pairs.items():
        cents = theirs[other].astype(np.float64) * 100
        reference = np.array(exact[mine], dtype=np.int64)
        difference = np.abs(cents - reference)
        out[mine] = (int((np.round(cents).astype(np.int64) == reference).sum()), int((difference <= 1 + 4 * scale).sum()), float(difference.max()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy(RULES)
    system = openfisca_system()
    pennies, household_of = workload(args.households)
    turns = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        batch = arrow_table(pennies, household_of)
        built = time.perf_counter()
        ours, stats = policy.decide_columns_counted(batch, AS_OF)
        decided = time.perf_counter()
        simulation = openfisca_built(system, pennies, household_of)
        simulated = time.perf_counter()
        theirs = openfisca_calculated(simulation)
        end = time.perf_counter()
        turns.append((built - start, decided - built, simulated - decided, end - simulated))
    print(f"households {args.households}, members {len(pennies)}; rows sent to the row path: {sum(stats.values())} {stats}")
    exact = exact_reference(pennies, household_of)
    from_rows, _ = policy.decide_columns_counted(table(policy, pennies, household_of), AS_OF)
    print(f"  decisions from the Arrow table of arrays equal those from facts mappings (every column): {from_rows.equals(ours)}")
    for name, (penny, within, largest) in openfisca_agreement(exact, theirs).items():
        mine = sum(a == b for a, b in zip(pennies_of(ours.column(name)), exact[name], strict=True))
        print(
            f"  {name}: policy_rules equal to the exact reference (Python integers) in {mine} of {args.households}; OpenFisca (float32) to the penny"
            f" in {penny}, within float32 rounding in {within} (largest difference {largest:.2f} pennies)"
        )
    median = statistics.median

    def ratio(ours_of: Any, theirs_of: Any) -> str:
        ratios = [ours_of(t) / theirs_of(t) for t in turns]
        m = median(ratios)
        turn = turns[ratios.index(m)] if m in ratios else min(turns, key=lambda t: abs(ours_of(t) / theirs_of(t) - m))
        return f"{m:.2f}x ({ours_of(turn):.3f} s vs {theirs_of(turn):.3f} s in the median turn)"

    print(f"  policy_rules: Arrow table from the arrays median {median(t[0] for t in turns):.3f} s, decide_columns median {median(t[1] for t in turns):.3f} s")
    print(f"  OpenFisca: simulation built from the arrays median {median(t[2] for t in turns):.3f} s, calculate median {median(t[3] for t in turns):.3f} s")
    print(f"  ratio, from the arrays to the amounts (table + decide vs build + calculate): {ratio(lambda t: t[0] + t[1], lambda t: t[2] + t[3])}")
    print(f"  ratio, the computation alone (decide_columns vs calculate):                 {ratio(lambda t: t[1], lambda t: t[3])}")
    print(f"  ratio, decide_columns vs build + calculate (as this benchmark timed before):  {ratio(lambda t: t[1], lambda t: t[2] + t[3])}")


if __name__ == "__main__":
    main()
