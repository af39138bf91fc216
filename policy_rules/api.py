"""The public facade: ``load_policy`` and ``Policy.evaluate``.

``load_policy`` reads rule files, parses, builds the AST, checks and compiles
them once; a ``Policy`` is then immutable and may be shared between threads.
The facade only routes: ``Policy.evaluate`` turns the date into the one the
engine is given and hands the facts to the engine's ``Decider``, which reads
them (``engine.facts``), decides and builds the ``Decision``. The loader wires
the symbolic backend of ``policy_rules.analysis`` into the engine as its
exact answer for services beyond the search's budget.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_rules.analysis.exact import exact_search
from policy_rules.engine import decision as engine_decision
from policy_rules.engine.compiler import CompiledPolicy, compile_policy
from policy_rules.engine.decider import Decider
from policy_rules.engine.decision import PolicyInfo
from policy_rules.engine.evaluator import Result
from policy_rules.engine.facts import validate
from policy_rules.engine.lowering import Lowered
from policy_rules.engine.policy_function import PolicyFunction
from policy_rules.engine.traced_function import TracedPath
from policy_rules.errors import Diagnostic, PolicyError, RuleFileError
from policy_rules.language.checker import PolicyModel, default_title
from policy_rules.language.loader import analyse, digest_of, policies, read_sources, refuse_one_file_of_a_policy, rule_files  # noqa: F401 - part of the facade
from policy_rules.values.dates import parse_as_of

if TYPE_CHECKING:
    from policy_rules.planner.plan import Plan


class Decision(engine_decision.Decision):
    """The engine's decision, with ``explain``: its plain-text explanation is a renderer's work, a layer above the engine."""

    __slots__ = ()

    def explain(self) -> str:
        """The whole explanation as text, exactly as ``policy-rules explain`` prints it (the renderer is the command line's)."""
        from policy_rules.renderers.reports import explain_text

        return explain_text(self)


#: How the engine makes the facade's decisions: from the tuple of their fields, in C (see ``engine.decider.build_decision``).
build_decision = functools.partial(tuple.__new__, Decision)


class Policy:
    """A checked, compiled policy. Immutable once loaded; ``evaluate`` is pure and thread-safe.

    Every decision is the engine's (``engine.decider.Decider``): the
    generated function decides when every fact it reads is known; otherwise
    the facts reader validates them (reporting a wrong value with its
    location) and the generated traced code or the three-valued evaluator
    works the decision out. Only ``CannotDecide``, raised by generated code
    for that purpose, sends a service the long way; any other exception from
    generated code is a bug and propagates.
    """

    def __init__(self, compiled: CompiledPolicy, info: PolicyInfo, warnings: tuple[Diagnostic, ...]) -> None:
        self.info = info
        self.warnings = warnings
        self._engine = engine = Decider(compiled, info, make=build_decision, exact_search=exact_search)
        self._engine_evaluate = engine.evaluate
        self._dates: dict[Any, tuple[date, str]] = {}
        #: The engine's routes, for whoever debugs or tests them: each decides as ``evaluate`` does.
        self.decide = engine.decide
        self.decide_in_full = engine.decide_in_full
        self.question = engine.question

    @property
    def model(self) -> PolicyModel:
        return self._engine.model

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def _compiled(self) -> CompiledPolicy:
        return self._engine.compiled

    @property
    def _lowered(self) -> Lowered:
        return self._engine.lowered

    @property
    def _function(self) -> PolicyFunction:
        return self._engine.function

    @property
    def _traced(self) -> TracedPath:
        return self._engine.traced

    def source(self, mode: str = "two_valued") -> str:
        """The Python source generated for one mode (``two_valued``: decisions without a trace; ``traced``: with it), for whoever debugs it."""
        return self._engine.source(mode)

    def facts_of(self, raw: Mapping[str, Any], *, path: str = "<facts>", index: int = 0) -> tuple[dict[str, Any], str | None]:
        """Validate raw facts against the declarations: typed values and the service's name."""
        return validate(self.model, raw, path=path, index=index)

    def evaluate(self, facts: Mapping[str, Any], as_of: date | str | None = None, *, trace: bool = True, path: str = "<facts>", index: int = 0) -> Decision:
        """Decide one service. ``facts`` maps fact names to values as a facts file would give them.

        Raises ``FactsError`` for undeclared names or values of the wrong type,
        ``ConflictError`` when two exceptions at the same level both apply.
        """
        if as_of is None:
            when = date.today()
            shown = when.isoformat()
        else:
            known = self._dates.get(as_of)
            when, shown = known if known is not None else self._date(as_of)
        return self._engine_evaluate(facts, when, shown, trace=trace, path=path, index=index)

    def evaluate_many(
        self, rows: Iterable[Mapping[str, Any]], as_of: date | str | None = None, *, trace: bool = False, path: str = "<facts>"
    ) -> Iterator[Decision]:
        """Decide many services, in order; the trace is off unless asked for."""
        yield from self._engine.evaluate_many(rows, parse_as_of(as_of), trace=trace, path=path)

    def decide_columns(self, table: Any, as_of: date | str, *, path: str = "<facts>") -> Any:
        """Decide a register given as an Arrow table (one column per fact, nulls unknown) by the columnar mode: its decisions as a table, in order."""
        return self._engine.decide_columns(table, parse_as_of(as_of), path=path)[0]

    def decide_columns_counted(self, table: Any, as_of: date | str, *, path: str = "<facts>") -> tuple[Any, dict[str, int]]:
        """As ``decide_columns``, with how many rows the columnar mode sent to the row path, by why (``engine.columnar.WHY``): what a run reports."""
        return self._engine.decide_columns(table, parse_as_of(as_of), path=path)

    def decide_columns_kept(self, table: Any, as_of: date) -> tuple[Any, Any, dict[str, int]]:
        """The columnar mode's own decisions and the places of the rows it leaves to the caller's row path (a register's, which records errors)."""
        return self._engine.decide_columns_kept(table, as_of)

    @property
    def result_kinds(self) -> tuple[tuple[str, str | None], ...]:
        """Each result's name and kind, in the order decisions give them (the result columns of a register's output)."""
        return self._engine.result_kinds

    @property
    def outcome_kind(self) -> str | None:
        """The kind of a valued outcome (``money``...), None when the outcome is one of its named values."""
        return self._engine.outcome_kind

    def _date(self, as_of: date | str) -> tuple[date, str]:
        """The date a decision is made on and its ISO text, kept per value given (as a ``date`` or as text)."""
        when = parse_as_of(as_of)
        if len(self._dates) > 1000:
            self._dates.clear()
        found = self._dates[as_of] = (when, when.isoformat())
        return found

    def decide_fast(self, raw: Mapping[str, Any], as_of: date, *, index: int = 0) -> Decision | None:
        """The decision without its trace by generated code alone, or ``None`` (see ``Decider.decide_fast``)."""
        known = self._dates.get(as_of)
        return self._engine.decide_fast(raw, as_of, (known if known is not None else self._date(as_of))[1], index)


def load_policy(*paths: str | Path) -> Policy:
    """Read, parse, check and compile rule files or folders into a ``Policy``.

    Raises ``RuleFileError`` with every finding if any file has an error;
    warnings are kept on ``Policy.warnings``.
    """
    if not paths:
        raise PolicyError("give at least one rule file or folder")
    sources = read_sources(paths)
    refuse_one_file_of_a_policy(paths, sources)
    several = [home for home, _files in policies(sources) if home]
    if len(several) > 1:
        raise PolicyError(
            f"this holds {len(several)} policies ({', '.join(several)}); "
            f"give the folder of one of them, such as {several[0]} (only `check` takes several at once)",
            str(paths[0]) if len(paths) == 1 else "RULES",
        )
    return policy_from_sources(sources, default_title(str(paths[0])))


def policy_from_sources(sources: Mapping[str, str], title: str, *, cached: bool = True) -> Policy:
    """A policy from rule files' text already read.

    ``load_policy`` reads the files and comes here; a register's worker
    processes come here with the text the parent read, so a rule file changed
    while a register runs cannot give workers other rules. ``cached=False``
    for text that is not rule files on disk (a draft sent to the service):
    the parse cache is neither read nor written for it.
    """
    model, diagnostics = analyse(sources, title, cached=cached)
    if model is None or any(d.severity == "error" for d in diagnostics):
        raise RuleFileError(diagnostics)
    info = PolicyInfo(model.title, model.version, digest_of(sources))
    return Policy(compile_policy(model), info, tuple(d for d in diagnostics if d.severity == "warning"))


def plan(policy: Policy | str | Path, register: Any, **options: Any) -> Plan:
    """Plan the insourcing programme of a register (``policy_rules.planner.plan.plan``); a rule file or folder is loaded first."""
    from policy_rules.planner.plan import plan as plan_programme

    return plan_programme(policy if isinstance(policy, Policy) else load_policy(policy), register, **options)


__all__ = ["Decision", "Policy", "Result", "load_policy", "plan", "policy_from_sources"]
