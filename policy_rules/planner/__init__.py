"""The insourcing programme planner: which services move in-house in which quarter, under the council's capacity.

Its place: after the engine. The rules decide each service of a register
(``Policy.evaluate_many``, without trace); the planner schedules those brought
in-house with OR-Tools CP-SAT (``solver``), explains each placement
(``plan``), and ``policy_rules.planner.report`` shows the result as text,
CSV, JSON or an HTML page with a Gantt chart. ``policy-rules plan`` is its
command (``command``); ``policy_rules.plan`` its Python API.

Names are imported on first use, so that building the command line's parser
(``command.add_plan_parser``) loads nothing of the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_NAMES = ("Extension", "Plan", "PlanNames", "PlannedService", "QuarterUse", "plan")

__all__ = ["Extension", "Plan", "PlanNames", "PlannedService", "QuarterUse", "plan"]

if TYPE_CHECKING:
    from policy_rules.planner.plan import Extension, Plan, PlanNames, PlannedService, QuarterUse, plan


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'policy_rules.planner' has no attribute {name!r}")
    return getattr(import_module("policy_rules.planner.plan"), name)
