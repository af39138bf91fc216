"""The exact answer the engine is given for services beyond its search's budget: the symbolic backend's, loaded on first use.

Its place: the engine's search for needed facts (``engine.evaluator.search``)
takes an ``ExactSearch`` strategy rather than importing the analysis built on
it; the facade gives it ``exact_search`` from here when it loads a policy.
This module is cheap to import: z3 and the symbolic reading are loaded only
when a service first needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policy_rules.engine.compiler import CompiledPolicy
    from policy_rules.engine.evaluator import Result, Search


def exact_search(compiled: CompiledPolicy, facts: Mapping[str, Any], as_of: date, service: str | None, first: Result) -> Search | None:
    """``analysis.needed.symbolic_search``: the possible results and exactly the needed facts, or None when it cannot tell."""
    from policy_rules.analysis.needed import symbolic_search

    return symbolic_search(compiled, facts, as_of, service, first)
