"""A small policy for the planner's tests: in-house, phased, hybrid and procured services, named facts of its own."""

from __future__ import annotations

from functools import cache

from policy_rules.api import Policy, policy_from_sources
from policy_rules.planner.plan import PlanNames

RULES = """
policy "programme test"
  service name service
  outcome delivery
  priority rank
  element outcomes part_delivery

fact service is text
fact ends is date
fact heads is whole number
fact spend is money
fact cost is money
fact keep_out is yes/no
fact skills is yes/no
fact urgent is yes/no

record part
  field name is text
  field specialist is yes/no

fact parts is list of part
  default empty

decision mode
  outcomes in_house, in_house_phased

rule at_once
  by default mode is in_house

rule phase_in
  exception to at_once
  when not skills
  then mode is in_house_phased

decision delivery
  outcomes in_house, in_house_phased, hybrid, procure

rule in_by_default
  by default delivery is mode

rule hybrid_when_some_specialist
  exception to in_by_default
  when any p in parts where p.specialist
  then delivery is hybrid

rule procure_when_kept_out
  exception to hybrid_when_some_specialist
  when keep_out
  then delivery is procure

decision part_delivery for each p in parts
  outcomes in_house, in_house_phased, hybrid, procure, external

rule part_follows
  by default part_delivery is delivery

rule part_in_hybrid
  exception to part_follows
  when delivery is hybrid
  then part_delivery is mode

rule specialist_part_out
  exception to part_in_hybrid
  when delivery is hybrid and p.specialist
  then part_delivery is external

decision rank
  outcomes high, standard, not_applicable

rule rank_none
  by default rank is not_applicable

rule rank_standard
  exception to rank_none
  when delivery is one of (in_house, in_house_phased, hybrid)
  then rank is standard

rule rank_high
  exception to rank_standard
  when delivery is one of (in_house, in_house_phased, hybrid) and urgent
  then rank is high
"""

#: The facts this policy gives the planner, under its own names.
NAMES = PlanNames(contract_end="ends", staff="heads", annual_spend="spend", in_house_cost="cost")


@cache
def plan_policy() -> Policy:
    return policy_from_sources({"plan.rules": RULES}, "programme test")


def service(name: str, *, ends: str = "2027-01-15", heads: int = 1, spend: int = 100, cost: int = 100, **facts: object) -> dict[str, object]:
    """One service's facts: in-house at once, standard priority, unless ``facts`` say otherwise (``skills=False``, ``urgent=True``...)."""
    return {"service": name, "ends": ends, "heads": heads, "spend": spend, "cost": cost, "keep_out": False, "skills": True, "urgent": False, **facts}
