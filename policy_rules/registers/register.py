"""Whole-register runs: decide every service of a register as it is read, write the decisions, summarise.

A register is a facts file with many services (CSV, JSON Lines, JSON or
YAML). Services are decided as the file is read (``FactsStream``) and each
decision is written as it is made, so memory stays flat however many rows the
register has. With ``jobs`` above one, the register is read in chunks that
worker processes decide, and the decisions are written in input order, the
same bytes as with one process. The summary counts services and annual spend
per outcome exactly; of the services it lists (high priority, undetermined,
the error messages) it keeps at most ``LISTED``, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs

from policy_rules.api import Policy, policy_from_sources
from policy_rules.engine.decision import Decision
from policy_rules.errors import ConflictError, FactsError, PolicyError, UsageError
from policy_rules.registers.facts import ServiceFacts, _number, service_name
from policy_rules.registers.outputs import AtomicFile
from policy_rules.renderers.escape import for_csv_cell

CSV_COLUMNS = (
    "service",
    "outcome",
    "priority",
    "reasons",
    "elements",
    "needed_facts",
    "decided_by",
    "annual_spend",
    "as_of",
    "policy_version",
    "policy_digest",
    "status",
    "message",
)

#: How many services a summary lists (high priority, undetermined) and how many error messages it keeps; counts are always exact.
LISTED = 1000
#: Services sent to a worker process at a time with ``jobs`` above one.
CHUNK = 2000


@attrs.define
class OutcomeTotal:
    services: int = 0
    spend: Decimal = Decimal(0)


@attrs.define
class Summary:
    """What a register run found, ready to render.

    The lists are bounded so that a run of millions of services takes no more
    memory than one of thousands: ``high_priority`` keeps the ``LISTED``
    services of highest spend (the ones a report shows first), ``undetermined``
    and ``errors`` the first ``LISTED``; the ``*_count`` fields count them all.
    """

    policy: str
    version: str
    digest: str
    as_of: str
    spend_fact: str | None
    services: int = 0
    decided: int = 0
    errors: list[str] = attrs.Factory(list)
    error_count: int = 0
    facts_errors: int = 0
    rule_conflicts: int = 0
    evaluation_errors: int = 0
    by_outcome: dict[str, OutcomeTotal] = attrs.Factory(dict)
    by_priority: Counter[str] = attrs.Factory(Counter)
    high_priority: list[tuple[str, str, Decimal | None, tuple[str, ...]]] = attrs.Factory(list)
    high_priority_count: int = 0
    undetermined: list[tuple[str, tuple[str, ...]]] = attrs.Factory(list)
    undetermined_count: int = 0
    needed_counts: Counter[str] = attrs.Factory(Counter)

    @property
    def total_spend(self) -> Decimal:
        return sum((t.spend for t in self.by_outcome.values()), Decimal(0))

    def add(self, decision: Decision, spend: Decimal | None) -> None:
        self.decided += 1
        total = self.by_outcome.get(decision.outcome)
        if total is None:
            total = self.by_outcome[decision.outcome] = OutcomeTotal()
        total.services += 1
        if spend:
            total.spend += spend
        if decision.priority is not None:
            self.by_priority[decision.priority] += 1
        if decision.priority == "high":
            self.high_priority_count += 1
            self.high_priority.append((decision.service or "(unnamed)", decision.outcome, spend, decision.reasons))
            if len(self.high_priority) >= 2 * LISTED:
                self.high_priority = _highest(self.high_priority)
        if decision.needed_facts:
            self.undetermined_count += 1
            if len(self.undetermined) < LISTED:
                self.undetermined.append((decision.service or "(unnamed)", decision.needed_facts))
            self.needed_counts.update(_general(f) for f in decision.needed_facts)

    def add_error(self, error: PolicyError) -> None:
        """Count a service that could not be decided, by what is wrong: its facts, the rules, or a calculation."""
        self.error_count += 1
        if len(self.errors) < LISTED:
            self.errors.append(str(error))
        if isinstance(error, FactsError):
            self.facts_errors += 1
        elif isinstance(error, ConflictError):
            self.rule_conflicts += 1
        else:
            self.evaluation_errors += 1

    def merge(self, other: Summary) -> None:
        """Add the summary of the services that follow this one's (a chunk decided by a worker)."""
        self.services += other.services
        self.decided += other.decided
        self.error_count += other.error_count
        self.errors.extend(other.errors[: LISTED - len(self.errors)])
        self.facts_errors += other.facts_errors
        self.rule_conflicts += other.rule_conflicts
        self.evaluation_errors += other.evaluation_errors
        for outcome, more in other.by_outcome.items():
            total = self.by_outcome.setdefault(outcome, OutcomeTotal())
            total.services += more.services
            total.spend += more.spend
        self.by_priority.update(other.by_priority)
        self.high_priority_count += other.high_priority_count
        self.high_priority = _highest(self.high_priority + other.high_priority)
        self.undetermined_count += other.undetermined_count
        self.undetermined.extend(other.undetermined[: LISTED - len(self.undetermined)])
        self.needed_counts.update(other.needed_counts)

    @property
    def listed(self) -> int:
        return LISTED

    def finish(self) -> Summary:
        self.high_priority = _highest(self.high_priority)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {"name": self.policy, "version": self.version, "digest": self.digest},
            "as_of": self.as_of,
            "services": self.services,
            "decided": self.decided,
            "errors": list(self.errors),
            "error_count": self.error_count,
            "facts_errors": self.facts_errors,
            "rule_conflicts": self.rule_conflicts,
            "evaluation_errors": self.evaluation_errors,
            "spend_fact": self.spend_fact,
            "by_outcome": {k: {"services": v.services, "spend": _num(v.spend)} for k, v in sorted(self.by_outcome.items())},
            "by_priority": dict(sorted(self.by_priority.items())),
            "high_priority": [{"service": s, "outcome": o, "spend": _num(sp), "reasons": list(r)} for s, o, sp, r in _highest(self.high_priority)],
            "high_priority_count": self.high_priority_count,
            "undetermined": [{"service": s, "needed_facts": list(n)} for s, n in self.undetermined],
            "undetermined_count": self.undetermined_count,
            "listed_up_to": LISTED,
            "most_needed_facts": [{"fact": f, "services": c} for f, c in self.most_needed()],
        }

    def most_needed(self) -> list[tuple[str, int]]:
        return sorted(self.needed_counts.items(), key=lambda fc: (-fc[1], fc[0]))


def _by_spend(item: tuple[str, str, Decimal | None, tuple[str, ...]]) -> tuple[Decimal, str]:
    """The order in which reports list high-priority services: highest spend first, then by name."""
    return -(item[2] or 0), item[0]


def _highest(items: list[Any]) -> list[Any]:
    """The ``LISTED`` items of highest spend, kept in their order in the register."""
    if len(items) <= LISTED:
        return items
    kept = sorted(range(len(items)), key=lambda i: _by_spend(items[i]))[:LISTED]
    return [items[i] for i in sorted(kept)]


def _general(fact: str) -> str:
    """``elements[3].specialist`` counts as ``elements[].specialist`` across services."""
    if "[" not in fact:
        return fact
    base, _, rest = fact.partition("[")
    return f"{base}[]{rest.partition(']')[2]}"


def _num(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def spend_fact_of(policy: Policy, wanted: str | None) -> str | None:
    """The money fact that gives a service's annual spend: ``--spend FACT`` or ``annual_spend``."""
    types = policy.model.fact_types
    if wanted is not None:
        if wanted not in types or types[wanted].kind != "money":
            money = [k for k, v in types.items() if v.kind == "money"]
            from policy_rules.errors import did_you_mean

            raise UsageError(f"`{wanted}` is not a money fact of this policy{did_you_mean(wanted, money)}", "--spend")
        return wanted
    return "annual_spend" if "annual_spend" in types and types["annual_spend"].kind == "money" else None


def decisions_kind(path: str) -> str:
    """The ending of a decisions file (``.csv``, ``.jsonl`` or ``.json``), or a ``UsageError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json"):
        raise UsageError(f"cannot write decisions to a `{suffix or 'file without an ending'}` file; use .csv, .jsonl or .json", "--output")
    return suffix


class DecisionRows:
    """Decisions written as rows of a decisions file (CSV, JSON Lines, or the elements of one JSON array) to a text stream.

    Every service gets a row, decided or not: a service that cannot be decided
    has status ``error`` and the message, so the file accounts for the whole
    register. Text cells of the CSV that a spreadsheet would run as a formula
    are neutralised. ``count`` is the number of rows before the first one
    written here: in a JSON array every element but the file's first is
    preceded by a comma, so a worker formats its chunk exactly as one writer
    would.
    """

    def __init__(self, kind: str, with_trace: bool, file: IO[str], count: int = 0) -> None:
        self.kind = kind
        self.with_trace = with_trace
        self.file = file
        self.count = count
        self.decided = 0
        if kind == ".csv":
            self.csv = csv.writer(file, lineterminator="\n")
        # Cells that repeat from row to row (outcomes, priorities, reasons, rule labels, the policy), made once.
        self._cells: dict[Any, tuple[str, ...]] = {}

    def write(self, decision: Decision, spend: Decimal | None) -> None:
        if self.kind == ".csv":
            cell = for_csv_cell
            service, outcome, priority, reasons, elements, needed, _questions, _exact, _trace, policy, as_of, decided_by = decision
            key = (outcome, priority, reasons, decided_by, as_of, policy)
            shared = self._cells.get(key)
            if shared is None:
                if len(self._cells) >= 10_000:
                    self._cells.clear()
                shared = self._cells[key] = (
                    cell(outcome), cell(priority or ""), cell(";".join(reasons)), cell(decided_by or ""), as_of, cell(policy.version), policy.digest,
                )
            self.csv.writerow(
                (
                    cell(service or ""),
                    *shared[:3],
                    cell(";".join([f"{e.name}={e.outcome}" for e in elements])) if elements else "",
                    cell(";".join(needed)) if needed else "",
                    shared[3],
                    "" if spend is None else str(_num(spend)),
                    *shared[4:],
                    "decided",
                    "",
                )
            )
        else:
            data = decision.to_dict()
            if not self.with_trace:
                data.pop("trace")
            data["status"] = "decided"
            self._json(data)
        self.count += 1
        self.decided += 1

    def write_error(self, service: str, error: PolicyError) -> None:
        """The row of a service that could not be decided: its name, status ``error`` and the message."""
        if self.kind == ".csv":
            self.csv.writerow((for_csv_cell(service), *[""] * (len(CSV_COLUMNS) - 3), "error", for_csv_cell(str(error))))
        else:
            self._json({"service": service, "status": "error", "error": {"message": error.message, "location": error.location}})
        self.count += 1

    def _json(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if self.kind == ".json":
            self.file.write(("," if self.count else "") + "\n" + text)
        else:
            self.file.write(text + "\n")


class DecisionWriter(DecisionRows):
    """Streams decisions to ``.csv``, ``.jsonl`` or ``.json`` (one array), under a temporary name until ``close()``."""

    def __init__(self, path: str, with_trace: bool) -> None:
        self.path = path
        self.out = AtomicFile(path)
        super().__init__(decisions_kind(path), with_trace, self.out.file)
        if self.kind == ".csv":
            self.csv.writerow(CSV_COLUMNS)
        elif self.kind == ".json":
            self.file.write("[")

    def write_rows(self, text: str, rows: int, decided: int) -> None:
        """Rows formatted by ``DecisionRows`` elsewhere (a worker process), following those written so far."""
        self.file.write(text)
        self.count += rows
        self.decided += decided

    def close(self) -> None:
        """Finish the file and give it its final name."""
        try:
            if self.kind == ".json":
                self.file.write("\n]\n")
        except OSError as error:
            self.discard()
            raise UsageError(f"cannot write this file ({error.strerror}); nothing was written", self.path) from None
        self.out.commit()

    def discard(self) -> None:
        """Drop what was written: the final name keeps whatever it held before."""
        self.out.discard()


class Progress:
    """A progress bar on stderr, shown only on a terminal and only for large registers.

    A register is read as it is decided, so the number of services is not
    known until the end; the bar measures the bytes of the file read so far.
    """

    def __init__(self, size: int, read: Callable[[], int], stream: IO[str] | None = None, minimum: int = 1_000_000) -> None:
        self.stream = stream or sys.stderr
        self.size = max(size, 1)
        self.read = read
        self.enabled = size >= minimum and self.stream.isatty()
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        share = min(1000 * self.read() // self.size, 1000)
        if share != self.shown:
            self.shown = share
            width = 30
            filled = width * share // 1000
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,} services, {share / 10:.1f}% of the file")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.enabled = False
            self.stream.write("\n")
            self.stream.flush()


def run_register(
    policy: Policy,
    services: Iterable[ServiceFacts],
    as_of: date,
    *,
    writer: DecisionWriter | None,
    spend_fact: str | None,
    progress: Progress | None = None,
    on_error: Callable[[str], None] | None = None,
    workers: Workers | None = None,
) -> Summary:
    """Decide every service as it is read; one that cannot be decided is counted, reported and written as an error row."""
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, as_of.isoformat(), spend_fact)
    if workers is not None:
        return workers.run(services, summary, writer, progress, on_error).finish()
    rows: DecisionRows | None = writer
    for service in services:
        message = _decide_one(policy, service, as_of, spend_fact, summary, rows)
        if message is not None and on_error is not None:
            on_error(message)
        if progress is not None:
            progress.update(summary.services)
    return summary.finish()


def _decide_one(policy: Policy, service: ServiceFacts, as_of: date, spend_fact: str | None, summary: Summary, rows: DecisionRows | None) -> str | None:
    """Decide one service, count it and write its row; the error message when it could not be decided."""
    summary.services += 1
    raw = service.raw
    try:
        decision = policy.evaluate(raw, as_of, trace=bool(rows and rows.with_trace), path=service.path, index=service.index)
    except PolicyError as error:
        summary.add_error(error)
        if rows is not None:
            rows.write_error(_name_of(policy, service, error), error)
        return str(error)
    spend = _spend(policy, raw, spend_fact) if spend_fact else None
    summary.add(decision, spend)
    if rows is not None:
        rows.write(decision, spend)
    return None


def _spend(policy: Policy, raw: Mapping[str, Any], fact: str) -> Decimal | None:
    """The service's spend: the facts were accepted, so it is an amount in a form a facts file may give, or missing (then its default)."""
    value = raw.get(fact)
    if type(value) is str and value.isascii() and value.isdigit():  # how a spreadsheet gives most amounts: no need for the full reading
        return Decimal(value)
    spend = _number(value, "money")
    if spend is None:
        default = policy.model.facts[fact].default
        return None if default is None else _number(default.value, "money")
    return spend


def _name_of(policy: Policy, service: ServiceFacts, error: PolicyError) -> str:
    """The name of a service that could not be decided, as its decision would have named it."""
    if isinstance(error, FactsError) and error.service is not None:
        return error.service
    raw = service.raw
    return service_name(policy.model, raw, service.index) if isinstance(raw, Mapping) else service.label


# --- several processes ----------------------------------------------------------------------------


@attrs.frozen
class _Task:
    """What every worker needs to decide chunks: the rules' text, the date, the output's form."""

    sources: Mapping[str, str]
    title: str
    as_of: date
    spend_fact: str | None
    kind: str
    with_trace: bool


_worker: tuple[Policy, _Task] | None = None


def _start_worker(task: _Task) -> None:
    """Load the policy once per worker; Ctrl-C and SIGTERM are the parent's to handle, which stops the workers itself."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _worker = (policy_from_sources(task.sources, task.title), task)


def _decide_chunk(first: int, path: str, chunk: list[tuple[Any, int]]) -> tuple[str, int, int, Summary]:
    """Decide a chunk of services in a worker: the rows as text, how many rows and decisions, and the chunk's summary."""
    assert _worker is not None, "the worker was not started"
    policy, task = _worker
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, task.as_of.isoformat(), task.spend_fact)
    text = io.StringIO()
    rows = DecisionRows(task.kind, task.with_trace, text, count=first) if task.kind else None
    for raw, index in chunk:
        _decide_one(policy, ServiceFacts(raw, path, index), task.as_of, task.spend_fact, summary, rows)
    return text.getvalue(), len(chunk), summary.decided, summary


class Workers:
    """A register decided by ``jobs`` worker processes, a chunk at a time, written in input order.

    The parent reads the register and writes the decisions; at most
    ``2 * jobs`` chunks are in flight, so memory stays flat. Workers are
    started with ``spawn`` (nothing of the parent's state is copied into them)
    while Ctrl-C and SIGTERM are blocked, so only the parent receives them and
    stops the workers cleanly.
    """

    def __init__(self, jobs: int, sources: Mapping[str, str], title: str, as_of: date, spend_fact: str | None, kind: str, with_trace: bool) -> None:
        self.jobs = jobs
        self.task = _Task(dict(sources), title, as_of, spend_fact, kind, with_trace)

    def run(
        self,
        services: Iterable[ServiceFacts],
        summary: Summary,
        writer: DecisionWriter | None,
        progress: Progress | None,
        on_error: Callable[[str], None] | None,
    ) -> Summary:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start_worker, initargs=(self.task,))
        pending: deque[Future[tuple[str, int, int, Summary]]] = deque()

        def collect() -> None:
            text, rows, decided, part = pending.popleft().result()
            if writer is not None:
                writer.write_rows(text, rows, decided)
            if on_error is not None:
                for message in part.errors:
                    on_error(message)
            summary.merge(part)
            if progress is not None:
                progress.update(summary.services)

        try:
            first = 0
            for path, chunk in _chunks(services):
                blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                try:
                    pending.append(pool.submit(_decide_chunk, first, path, chunk))
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                first += len(chunk)
                while len(pending) >= 2 * self.jobs:
                    collect()
            while pending:
                collect()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return summary


def _chunks(services: Iterable[ServiceFacts]) -> Iterator[tuple[str, list[tuple[Any, int]]]]:
    chunk: list[tuple[Any, int]] = []
    path = ""
    for service in services:
        path = service.path
        chunk.append((service.raw, service.index))
        if len(chunk) == CHUNK:
            yield path, chunk
            chunk = []
    if chunk:
        yield path, chunk


def jobs_wanted(value: str) -> int:
    """``--jobs N``: a number of processes, ``0`` or ``auto`` for one per core."""
    if value.strip().lower() in ("auto", "0"):
        return os.cpu_count() or 1
    if not value.strip().isdigit():
        raise ValueError(value)
    return int(value)
