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
import functools
import io
import json
import os
import re
import signal
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from policy_rules.engine.decision import Decision
from policy_rules.engine.facts import _number, service_name
from policy_rules.errors import ConflictError, FactsError, PolicyError, UsageError
from policy_rules.registers.facts import CsvPiece, CsvRegister, FactsStream, ServiceFacts
from policy_rules.safety.escape import for_csv_cell
from policy_rules.safety.outputs import AtomicFile

if TYPE_CHECKING:
    from policy_rules.api import Policy

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
    #: The total of each money result (``results``) over the services with this outcome that it is known for.
    results: dict[str, Decimal] = attrs.Factory(dict)

    def add_results(self, results: tuple[tuple[str, Any, str], ...]) -> None:
        """Add a decision's money results (those shown as money, ``£...`` or ``-£...``) to the totals."""
        for name, value, shown in results:
            if value is not None and shown.startswith(("£", "-£")):
                self.results[name] = self.results.get(name, Decimal(0)) + Decimal(value)


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
    #: The place in ``_by_spend`` order of the last service kept in ``high_priority`` when it was last cut to ``LISTED``: one after it cannot enter.
    _high_bar: tuple[Decimal, str] | None = attrs.field(default=None, repr=False)

    @property
    def least_high_spend(self) -> Decimal | None:
        """The spend below which a high-priority service can no longer be among the ``LISTED`` kept (None while fewer are kept)."""
        return None if self._high_bar is None else -self._high_bar[0]

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
        if decision.results:
            total.add_results(decision.results)
        if decision.priority is not None:
            self.by_priority[decision.priority] += 1
        if decision.priority == "high":
            self.high_priority_count += 1
            self._keep_high([(decision.service or "(unnamed)", decision.outcome, spend, decision.reasons)])
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
            for name, amount in more.results.items():
                total.results[name] = total.results.get(name, Decimal(0)) + amount
        self.by_priority.update(other.by_priority)
        self.high_priority_count += other.high_priority_count
        self._keep_high(other.high_priority)
        self.undetermined_count += other.undetermined_count
        self.undetermined.extend(other.undetermined[: LISTED - len(self.undetermined)])
        self.needed_counts.update(other.needed_counts)

    def _keep_high(self, items: list[tuple[str, str, Decimal | None, tuple[str, ...]]]) -> None:
        """Add high-priority services that follow those kept: only those that can still be among the ``LISTED`` of highest spend."""
        bar = self._high_bar
        self.high_priority.extend(items if bar is None else [item for item in items if _by_spend(item) < bar])
        if len(self.high_priority) >= 2 * LISTED:
            self.high_priority = _highest(self.high_priority)
            self._high_bar = max(map(_by_spend, self.high_priority))

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
            "by_outcome": {k: _outcome_total(v) for k, v in sorted(self.by_outcome.items())},
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


def _outcome_total(total: OutcomeTotal) -> dict[str, Any]:
    found: dict[str, Any] = {"services": total.services, "spend": _num(total.spend)}
    if total.results:
        found["results"] = {name: format(amount.quantize(Decimal("0.01")), "f") for name, amount in total.results.items()}
    return found


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


_ONE_CELL = io.StringIO()
_ONE_CELL_WRITER = csv.writer(_ONE_CELL, lineterminator="\n")


def _csv_quoted(value: str) -> str:
    """A cell as ``csv.writer`` writes it in a row of several: quoted when it holds a comma, a quote or a line break, else as it is."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        _ONE_CELL.seek(0)
        _ONE_CELL.truncate()
        _ONE_CELL_WRITER.writerow((value,))
        return _ONE_CELL.getvalue()[:-1]
    return value


def _csv_text(value: str) -> str:
    """A text cell from the rules or the register: neutralised for spreadsheets (``for_csv_cell``), then as ``csv.writer`` writes it."""
    return value if _PLAIN_CELL(value) else _csv_quoted(for_csv_cell(value))


#: A cell that neither starts like a formula nor needs quotes: most cells, written as they are without a call per rule.
_PLAIN_CELL = re.compile(r'(?:[^=+\-@\t\r,"\n][^,"\n\r]*)?').fullmatch


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

    def write(self, decision: Decision, spend: Decimal | None, spend_text: str | None = None) -> None:
        """The row of a decided service; ``spend_text``, when given, is how the spend is written (the cell as the register gave it)."""
        if self.kind == ".csv":
            service, outcome, priority, reasons, elements, needed, _questions, _exact, _trace, policy, as_of, decided_by, _results, _results_needed = decision
            key = (outcome, priority, reasons, decided_by, as_of, policy)
            shared = self._cells.get(key)
            if shared is None:
                if len(self._cells) >= 10_000:
                    self._cells.clear()
                cell = _csv_text
                shared = self._cells[key] = (
                    f"{cell(outcome)},{cell(priority or '')},{cell(';'.join(reasons))}",
                    cell(decided_by or ""),
                    f"{_csv_quoted(as_of)},{cell(policy.version)},{_csv_quoted(policy.digest)},decided,\n",
                )
            head, by, tail = shared
            if spend_text is None:
                spend_text = "" if spend is None else str(_num(spend))
            self.file.write(
                f"{_csv_text(service or '')},{head},"
                f"{_csv_text(';'.join([f'{e.name}={e.outcome}' for e in elements])) if elements else ''},"
                f"{_csv_text(';'.join(needed)) if needed else ''},{by},{spend_text},{tail}"
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
    register = services.csv_pieces() if isinstance(services, FactsStream) else None
    if register is not None:
        if workers is not None:
            with workers.pool() as pool:
                _run_pieces(register, summary, writer, progress, on_error, pool.piece, 2 * workers.jobs)
        else:
            job = _Job(as_of, spend_fact, writer.kind if writer is not None else "", bool(writer and writer.with_trace))
            _run_pieces(register, summary, writer, progress, on_error, functools.partial(_here, policy, job), 1)
        services.count, register.finished = summary.services, True  # type: ignore[union-attr]
        return summary.finish()
    if workers is not None:
        return workers.run(services, summary, writer, progress, on_error).finish()
    rows: DecisionRows | None = writer
    for service in services:
        message = _decide_one(policy, service.raw, service.path, service.index, as_of, spend_fact, summary, rows)
        if message is not None and on_error is not None:
            on_error(message)
        if progress is not None:
            progress.update(summary.services)
    return summary.finish()


def _decide_one(
    policy: Policy, raw: Mapping[str, Any], path: str, index: int, as_of: date, spend_fact: str | None, summary: Summary, rows: DecisionRows | None
) -> str | None:
    """Decide one service, count it and write its row; the error message when it could not be decided."""
    summary.services += 1
    try:
        decision = policy.evaluate(raw, as_of, trace=bool(rows and rows.with_trace), path=path, index=index)
    except PolicyError as error:
        summary.add_error(error)
        if rows is not None:
            rows.write_error(_name_of(policy, ServiceFacts(raw, path, index), error), error)
        return str(error)
    spend = spend_text = None
    if spend_fact:
        value = raw.get(spend_fact)
        if type(value) is str and value.isascii() and value.isdigit() and value[0] != "0":  # how a spreadsheet gives most amounts, written back as given
            spend, spend_text = Decimal(value), value
        else:
            spend = _spend(policy, raw, spend_fact)
    summary.add(decision, spend)
    if rows is not None:
        rows.write(decision, spend, spend_text)
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


# --- pieces of a CSV register, and several processes ------------------------------------------


@attrs.frozen
class _Job:
    """How each service of a register is decided and written: the date, the spend fact, the output's form (``kind``, none without an output)."""

    as_of: date
    spend_fact: str | None
    kind: str
    with_trace: bool


@attrs.frozen
class _Task:
    """What every worker needs: the rules' text, how a policy is built from it (the facade's ``policy_from_sources``, sent by name) and the job."""

    build: Callable[[Mapping[str, str], str], Policy]
    sources: Mapping[str, str]
    title: str
    job: _Job


@attrs.frozen
class _Done:
    """What a piece of a CSV register gave: its rows of the decisions file and its summary; the CSV rows it read (blank ones too); when a
    row went on past its end, the number of lines before that row (else ``None``); or the error that stops the reading of the file."""

    text: str
    summary: Summary
    rows: int
    open_after: int | None
    error: str | None


def _decide_piece(policy: Policy, job: _Job, piece: CsvPiece, header: tuple[str, ...], path: str) -> _Done:
    """Read a piece of a CSV register and decide its services, as one process reading the whole file would at that place."""
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, job.as_of.isoformat(), job.spend_fact)
    text = io.StringIO()
    out = DecisionRows(job.kind, job.with_trace, text, count=piece.index) if job.kind else None
    try:
        rows = piece.rows(header, path)
    except FactsError as error:
        return _Done("", summary, 0, None, error.message)
    services = rows.raw()
    while True:
        try:
            raw, index = next(services)
        except StopIteration:
            break
        except FactsError as error:  # the file cannot be read on: an error for the whole run, given back in order
            return _Done("", summary, 0, None, error.message)
        _decide_one(policy, raw, path, index, job.as_of, job.spend_fact, summary, out)
    return _Done(text.getvalue(), summary, rows.row - piece.row, rows.line - piece.line if rows.open_end else None, None)


def _here(policy: Policy, job: _Job, piece: CsvPiece, header: tuple[str, ...], path: str) -> Future[_Done]:
    """A piece decided in this process, as a finished ``Future``."""
    done: Future[_Done] = Future()
    done.set_result(_decide_piece(policy, job, piece, header, path))
    return done


def _run_pieces(
    register: CsvRegister,
    summary: Summary,
    writer: DecisionWriter | None,
    progress: Progress | None,
    on_error: Callable[[str], None] | None,
    decide: Callable[[CsvPiece, tuple[str, ...], str], Future[_Done]],
    ahead: int,
) -> Summary:
    """A CSV register decided a piece at a time (here or in workers, ``ahead`` pieces at most in flight), written in file order.

    A piece is given the rows and services before it as guessed from the
    lines before it; when the pieces before it held blank rows or rows of
    several lines, the guess is wrong and the piece is decided again with
    the right numbers (they name unnamed services and place errors), and the
    pieces after it are guessed from the corrected count. When a piece ends
    inside a row, its rows before that one stand, and the rest of it is
    decided again joined to the next piece (whose own decisions are dropped).
    """
    path = register.path
    pieces = register.pieces()
    pending: deque[tuple[CsvPiece, CsvPiece, Future[_Done]]] = deque()  # each piece as cut, as given, and its decisions
    row, index = 1, 0  # the rows (the header's included) and services before the next piece to collect
    moved_row = moved_index = 0  # what the guesses of the pieces not yet given are off by

    def give(cut: CsvPiece) -> tuple[CsvPiece, CsvPiece, Future[_Done]]:
        piece = attrs.evolve(cut, row=cut.row + moved_row, index=cut.index + moved_index)
        return cut, piece, decide(piece, register.header, path)

    def collect() -> None:
        nonlocal row, index, moved_row, moved_index
        cut, piece, future = pending.popleft()
        done = future.result()
        if (piece.row, piece.index) != (row, index):
            piece = attrs.evolve(piece, row=row, index=index)
            done = decide(piece, register.header, path).result()
        if done.open_after is not None:
            after = pending.popleft()[0] if pending else next(pieces, None)
            rest = piece.rest_joined(done.open_after, after, row + done.rows, index + done.summary.services)
            pending.appendleft((after or cut, rest, decide(rest, register.header, path)))
        if done.error is not None:
            raise FactsError(done.error, path=path)
        if writer is not None:
            writer.write_rows(done.text, done.summary.services, done.summary.decided)
        if on_error is not None:
            for message in done.summary.errors:
                on_error(message)
        summary.merge(done.summary)
        row += done.rows
        index += done.summary.services
        moved_row, moved_index = row - cut.row - cut.rows_guessed, index - cut.index - cut.rows_guessed
        if progress is not None:
            progress.update(summary.services)

    for cut in pieces:
        pending.append(give(cut))
        while len(pending) >= ahead:
            collect()
    while pending:
        collect()
    if not index:
        raise FactsError("the CSV file has a header row but no services", path=path)
    return summary


def _start_worker(task: _Task) -> None:
    """Load the policy once per worker; Ctrl-C and SIGTERM are the parent's to handle, which stops the workers itself."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _worker = (task.build(task.sources, task.title), task.job)


_worker: tuple[Policy, _Job] | None = None


def _piece_in_worker(piece: CsvPiece, header: tuple[str, ...], path: str) -> _Done:
    assert _worker is not None, "the worker was not started"
    return _decide_piece(*_worker, piece, header, path)


def _decide_chunk(first: int, path: str, chunk: list[tuple[Any, int]]) -> tuple[str, int, int, Summary]:
    """Decide a chunk of services in a worker: the rows as text, how many rows and decisions, and the chunk's summary."""
    assert _worker is not None, "the worker was not started"
    policy, job = _worker
    info = policy.info
    summary = Summary(info.name, info.version, info.digest, job.as_of.isoformat(), job.spend_fact)
    text = io.StringIO()
    rows = DecisionRows(job.kind, job.with_trace, text, count=first) if job.kind else None
    for raw, index in chunk:
        _decide_one(policy, raw, path, index, job.as_of, job.spend_fact, summary, rows)
    return text.getvalue(), len(chunk), summary.decided, summary


class _Pool:
    """Worker processes started with ``spawn`` (nothing of the parent's state is copied into them); work is handed out while Ctrl-C and
    SIGTERM are blocked, so that only the parent receives them and stops the workers cleanly."""

    def __init__(self, jobs: int, task: _Task) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(task,))

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            return self.executor.submit(function, *args)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def piece(self, piece: CsvPiece, header: tuple[str, ...], path: str) -> Future[_Done]:
        return self.submit(_piece_in_worker, piece, header, path)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class Workers:
    """A register decided by ``jobs`` worker processes, written in input order, with at most ``2 * jobs`` pieces in flight (memory stays flat).

    A CSV register is cut into pieces of lines that the workers read
    themselves (``_run_pieces``): the parent only cuts the file and writes
    what the workers give back. Other registers are read by the parent and
    handed out a chunk of services at a time. Each worker builds its
    policy from the rules' text with ``build`` (the caller's: registers sit
    below the facade that builds policies).
    """

    def __init__(
        self,
        jobs: int,
        build: Callable[[Mapping[str, str], str], Policy],
        sources: Mapping[str, str],
        title: str,
        as_of: date,
        spend_fact: str | None,
        kind: str,
        with_trace: bool,
    ) -> None:
        self.jobs = jobs
        self.task = _Task(build, dict(sources), title, _Job(as_of, spend_fact, kind, with_trace))

    def pool(self) -> _Pool:
        return _Pool(self.jobs, self.task)

    def run(
        self,
        services: Iterable[ServiceFacts],
        summary: Summary,
        writer: DecisionWriter | None,
        progress: Progress | None,
        on_error: Callable[[str], None] | None,
    ) -> Summary:
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

        with self.pool() as pool:
            first = 0
            for path, chunk in _chunks(services):
                pending.append(pool.submit(_decide_chunk, first, path, chunk))
                first += len(chunk)
                while len(pending) >= 2 * self.jobs:
                    collect()
            while pending:
                collect()
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
