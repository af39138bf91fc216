"""``DecisionRegister``: record decisions, read them back, record overrides, replay and export.

One class over one SQLAlchemy engine serves the service, the ``register``
commands and ``evaluate --record``. Opening a database brings its schema up to
date with the migrations shipped in the package, so a register written by an
older version keeps its records. The rule files' text is kept once per set of
files: a decision points at it, and a replay decides the recorded facts again
with exactly those rules, whatever the rules on disk are now.

What a record keeps is bounded by what it was given: the facts as given, the
decision, and a *compact trace* (each decision's value and deciding rule,
without the rule tree, which repeats every fact a rule reads and grows with
the square of a service's parts) with the digest of the whole trace. The
whole trace is derived again from the facts and the kept rules when a
decision is shown (``explained``), and checked against that digest, so an
explanation read back is the one given when the decision was made, or says
that it differs.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from policy_rules.errors import PolicyError, UsageError
from policy_rules.store import tables as t

if TYPE_CHECKING:
    from policy_rules.api import Policy
    from policy_rules.engine.decision import Decision

DEFAULT_DB = "policy-rules.db"
#: The most decisions one listing gives; more are read page by page with ``before``.
LIST_LIMIT = 1000


def database_url(where: str | None) -> str:
    """The SQLAlchemy URL for ``--db``: a file path (SQLite), or a ``postgresql://`` URL (read with psycopg)."""
    where = where or DEFAULT_DB
    if where.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + where.split("://", 1)[1]
    if where.startswith(("postgresql+psycopg://", "sqlite://")):
        return where
    if "://" in where:
        raise UsageError(f"a register is a file path or a postgresql:// URL, not `{where.split('://', 1)[0]}://`", "--db")
    path = Path(where)
    if path.is_dir():
        raise UsageError("this is a folder; give the name of the register's database file", where)
    return f"sqlite:///{path.resolve()}"


def now_text() -> str:
    """The current time as the register writes times: UTC, fixed width, so text order is time order."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_text(value: str) -> str:
    """A date or a date and time given by a user, as the register writes times (a date means its start, in UTC)."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PolicyError(f"`{value}` is not a date or a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", "since") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a facts value")


def dumps(value: Any) -> str:
    """JSON text as the register stores it: dates and amounts as text, keys in the order given."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_value)


@attrs.frozen
class Override:
    """A decision an officer took against the rules' outcome, with the reason, kept beside the decision it overrides."""

    id: int
    decision_id: int
    outcome: str
    reason: str
    decided_by: str
    recorded_by: str
    recorded_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "decision_id": self.decision_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "by": self.decided_by,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at,
        }


@attrs.frozen
class RecordedDecision:
    """One decision as the register keeps it: the JSON decision (with its trace), the facts it was made on, who and when."""

    id: int
    recorded_at: str
    recorded_by: str
    rule_set: str
    facts: dict[str, Any]
    decision: dict[str, Any]
    overrides: tuple[Override, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON decision with the record's own keys added: ``id``, ``recorded_at``, ``recorded_by``, ``facts``, ``overrides``."""
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            **self.decision,
            "facts": self.facts,
            "overrides": [o.to_dict() for o in self.overrides],
        }

    def summary(self) -> dict[str, Any]:
        """What a listing shows of a decision: who, when, which service, the outcome, and the last override's outcome."""
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            "service": self.decision.get("service"),
            "outcome": self.decision.get("outcome"),
            "as_of": self.decision.get("as_of"),
            "policy": self.decision.get("policy"),
            "overridden_to": self.overrides[-1].outcome if self.overrides else None,
        }


@attrs.frozen
class RuleSave:
    """Rule files saved from the workbench: who saved them, why, which files changed, and the rules before and after."""

    id: int
    saved_at: str
    saved_by: str
    recorded_by: str
    reason: str
    files: tuple[str, ...]
    previous_rule_set: str
    rule_set: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "saved_at": self.saved_at,
            "by": self.saved_by,
            "recorded_by": self.recorded_by,
            "reason": self.reason,
            "files": list(self.files),
            "previous_rule_set": self.previous_rule_set,
            "rule_set": self.rule_set,
        }


#: The trace events' keys a compact trace keeps: what was decided and by which rule, never the rule tree or the facts read.
_COMPACT_KEYS = ("type", "decision", "item", "value", "decided_by", "name", "as_of", "exact")
#: What a record does not keep whole, since its facts and rules give it again: the trace, and the questions of the needed facts.
_DERIVED = ("trace", "questions")


def trace_digest(derived: Mapping[str, Any]) -> str:
    """The digest of a decision's trace and questions as the register writes JSON: what they must match when derived again."""
    return "sha256:" + sha256(dumps({k: derived.get(k) for k in _DERIVED}).encode()).hexdigest()


def compact(decision: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON decision as the register keeps it: without its questions, its trace reduced to the service's own events, and their digest.

    The compact trace keeps, for the service itself, each decision's value
    and deciding rule (the events of list items are its ``elements``); the
    questions follow from ``needed_facts`` and the rules.
    """
    trace = [
        {k: event[k] for k in _COMPACT_KEYS if k in event and not isinstance(event[k], dict | list)}
        for event in decision.get("trace") or []
        if event.get("item") is None
    ]
    kept = {k: v for k, v in decision.items() if k not in _DERIVED}
    return {**kept, "trace": trace, "trace_kept": {"form": "compact", "digest": trace_digest(decision)}}


@attrs.frozen
class Prepared:
    """A decision made ready for the register before anything is written: its facts and compact decision as JSON, and their size."""

    decision: dict[str, Any]
    facts_text: str
    decision_text: str
    service: str | None
    outcome: str

    @property
    def size(self) -> int:
        """The bytes the record takes in the register (its facts and its decision)."""
        return len(self.facts_text.encode()) + len(self.decision_text.encode())


@attrs.frozen
class Replay:
    """A recorded decision decided again with its own rules: the same, or the keys that differ."""

    id: int
    same: bool
    differences: tuple[str, ...]
    recorded: dict[str, Any]
    now: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "same": self.same, "differences": list(self.differences)}


class DecisionRegister:
    """A register of decisions in one database. Thread-safe: the service records from many threads at once.

    Writes on SQLite go one at a time (a lock here, and SQLite's own for other
    processes, waited for up to ``busy_timeout``); every recorded decision is
    committed before ``record`` returns, so an answer of 201 means it is kept.
    """

    def __init__(self, where: str | None = None) -> None:
        self.url = database_url(where)
        self.where = where or DEFAULT_DB
        self.sqlite = self.url.startswith("sqlite")
        try:
            self.engine = _engine(self.url)
            self._upgrade()
        except sa.exc.OperationalError as error:
            raise PolicyError(f"cannot open the decision register ({_reason(error)})", self.shown) from None
        except sa.exc.DatabaseError as error:
            raise PolicyError(f"this is not a decision register this version can read ({_reason(error)})", self.shown) from None
        self._write = threading.Lock()
        self._writer = GroupCommit(self.engine, self._write)
        self._policies: dict[str, Policy] = {}
        self._kept: set[str] = set()

    @property
    def shown(self) -> str:
        """The register's place as a user may see it: a PostgreSQL URL without its password."""
        if self.sqlite:
            return self.where
        return sa.engine.make_url(self.url).render_as_string(hide_password=True).replace("postgresql+psycopg://", "postgresql://")

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    def __enter__(self) -> DecisionRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------

    def keep_rules(self, policy: Policy) -> str:
        """Keep the policy's rule files (once per set of files) and return the key decisions point at."""
        files = dict(policy.model.sources)
        text = dumps(files)
        key = "sha256:" + sha256(text.encode()).hexdigest()
        if key in self._kept:
            return key
        row = {
            "id": key,
            "policy_digest": policy.info.digest,
            "policy_name": policy.info.name,
            "policy_version": policy.info.version,
            "files": text,
            "first_recorded_at": now_text(),
        }
        insert = (sa.dialects.postgresql.insert if not self.sqlite else sa.dialects.sqlite.insert)(t.rule_sets)
        with self._write, self.engine.begin() as connection:
            connection.execute(insert.values(row).on_conflict_do_nothing(index_elements=["id"]))
        self._kept.add(key)
        self._policies[key] = policy
        return key

    def record(self, rule_set: str, decision: Decision, facts: Mapping[str, Any], who: str) -> RecordedDecision:
        """Record one decision (made with the rules kept as ``rule_set``) and return it with its id."""
        return self.record_many(rule_set, [(decision, facts)], who)[0]

    @staticmethod
    def prepare(decision: Mapping[str, Any], facts: Mapping[str, Any]) -> Prepared:
        """What recording a JSON decision would write, worked out before anything is (so its size can be refused first)."""
        data = compact(decision)
        service = data["service"].replace("\x00", "") if data["service"] else data["service"]
        return Prepared(data, dumps(facts), dumps(data), service, data["outcome"])

    def record_many(self, rule_set: str, made: Sequence[tuple[Decision, Mapping[str, Any]]], who: str) -> list[RecordedDecision]:
        """Record decisions in one transaction (all of them are kept, or none) and return them once committed."""
        return self.record_prepared(rule_set, [self.prepare(decision.to_dict(), facts) for decision, facts in made], who)

    def record_prepared(self, rule_set: str, prepared: Sequence[Prepared], who: str) -> list[RecordedDecision]:
        """Record decisions ``prepare`` made ready, in one transaction, and return them once committed."""
        when = now_text()
        rows = [
            {
                "recorded_at": when,
                "recorded_by": who,
                "service": p.service,
                "outcome": p.outcome,
                "policy_name": p.decision["policy"]["name"],
                "policy_version": p.decision["policy"]["version"],
                "policy_digest": p.decision["policy"]["digest"],
                "rule_set": rule_set,
                "as_of": p.decision["as_of"],
                "facts": p.facts_text,
                "decision": p.decision_text,
            }
            for p in prepared
        ]
        ids = self._writer.write(rows).result()
        return [RecordedDecision(id_, when, who, rule_set, json.loads(p.facts_text), p.decision) for id_, p in zip(ids, prepared, strict=True)]

    def override(self, decision_id: int, outcome: str, reason: str, decided_by: str, who: str) -> Override | None:
        """Record an officer's decision against the rules' outcome; ``None`` when there is no such decision. The decision itself is never changed."""
        when = now_text()
        row = {"decision_id": decision_id, "outcome": outcome, "reason": reason, "decided_by": decided_by, "recorded_by": who, "recorded_at": when}
        with self._write, self.engine.begin() as connection:
            if connection.execute(sa.select(t.decisions.c.id).where(t.decisions.c.id == decision_id)).first() is None:
                return None
            new_id = connection.execute(t.overrides.insert().values(row).returning(t.overrides.c.id)).scalar_one()
        return Override(new_id, decision_id, outcome, reason, decided_by, who, when)

    def record_save(self, previous_rule_set: str, rule_set: str, files: Sequence[str], reason: str, saved_by: str, who: str) -> RuleSave:
        """Record that ``saved_by`` (through the token of ``who``) saved ``files``, turning the rules kept as ``previous_rule_set`` into ``rule_set``.

        Both rule sets must already be kept (``keep_rules``): the save is the
        link between two sets of rule files the register holds whole.
        """
        when = now_text()
        row = {
            "saved_at": when,
            "saved_by": saved_by,
            "recorded_by": who,
            "reason": reason,
            "files": dumps(list(files)),
            "previous_rule_set": previous_rule_set,
            "rule_set": rule_set,
        }
        with self._write, self.engine.begin() as connection:
            new_id = connection.execute(t.rule_saves.insert().values(row).returning(t.rule_saves.c.id)).scalar_one()
        return RuleSave(new_id, when, saved_by, who, reason, tuple(files), previous_rule_set, rule_set)

    # --- reading -------------------------------------------------------------------------

    def saves(self, limit: int = 100) -> list[RuleSave]:
        """The rule saves, newest first."""
        query = sa.select(t.rule_saves).order_by(t.rule_saves.c.id.desc()).limit(max(0, min(limit, LIST_LIMIT)))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_save(r) for r in rows]

    def get_save(self, save_id: int) -> RuleSave | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(t.rule_saves).where(t.rule_saves.c.id == save_id)).first()
        return None if row is None else _save(row)

    def rule_files(self, rule_set: str) -> dict[str, str]:
        """The text of the rule files kept as ``rule_set``, by name."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(t.rule_sets.c.files).where(t.rule_sets.c.id == rule_set)).first()
        if row is None:
            raise PolicyError(f"the register has no rule files kept as {rule_set}", self.shown)
        return dict(json.loads(row.files))

    def get(self, decision_id: int) -> RecordedDecision | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(t.decisions).where(t.decisions.c.id == decision_id)).first()
            if row is None:
                return None
            found = connection.execute(sa.select(t.overrides).where(t.overrides.c.decision_id == decision_id).order_by(t.overrides.c.id)).all()
        return _recorded(row, tuple(_override(o) for o in found))

    def list(
        self, *, service: str | None = None, outcome: str | None = None, since: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[RecordedDecision]:
        """Recorded decisions, newest first; ``since`` is a date or time (from then on), ``before`` an id (older ones only)."""
        query = sa.select(t.decisions).order_by(t.decisions.c.id.desc()).limit(max(0, min(limit, LIST_LIMIT)))
        if service is not None:
            query = query.where(t.decisions.c.service == service)
        if outcome is not None:
            query = query.where(t.decisions.c.outcome == outcome)
        if since is not None:
            query = query.where(t.decisions.c.recorded_at >= time_text(since))
        if before is not None:
            query = query.where(t.decisions.c.id < before)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            overrides = self._overrides_of(connection, [r.id for r in rows])
        return [_recorded(r, overrides.get(r.id, ())) for r in rows]

    def all(self, batch: int = 500) -> Iterator[RecordedDecision]:
        """Every recorded decision, oldest first, read a batch at a time (an export of millions does not fill memory)."""
        last = 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(sa.select(t.decisions).where(t.decisions.c.id > last).order_by(t.decisions.c.id).limit(batch)).all()
                overrides = self._overrides_of(connection, [r.id for r in rows])
            if not rows:
                return
            for row in rows:
                yield _recorded(row, overrides.get(row.id, ()))
            last = rows[-1].id

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(t.decisions)).scalar_one()

    @staticmethod
    def _overrides_of(connection: sa.Connection, ids: list[int]) -> dict[int, tuple[Override, ...]]:
        found: dict[int, list[Override]] = {}
        if ids:
            query = sa.select(t.overrides).where(t.overrides.c.decision_id.in_(ids)).order_by(t.overrides.c.id)
            for row in connection.execute(query):
                found.setdefault(row.decision_id, []).append(_override(row))
        return {k: tuple(v) for k, v in found.items()}

    # --- replay --------------------------------------------------------------------------

    def policy_of(self, rule_set: str) -> Policy:
        """The policy a decision was made with, from the rule files' text kept in the register (loaded once)."""
        policy = self._policies.get(rule_set)
        if policy is not None:
            return policy
        from policy_rules.api import policy_from_sources

        with self.engine.connect() as connection:
            row = connection.execute(sa.select(t.rule_sets).where(t.rule_sets.c.id == rule_set)).first()
        if row is None:
            raise PolicyError(f"the register has no rule files kept as {rule_set}", self.shown)
        policy = policy_from_sources(json.loads(row.files), row.policy_name)
        if len(self._policies) >= 16:
            self._policies.clear()
        self._policies[rule_set] = policy
        return policy

    def replay(self, recorded: RecordedDecision) -> Replay:
        """Decide the recorded facts again, as of the recorded date, with the recorded rules; compare with what was recorded.

        A record with a compact trace is compared with the compact form of
        the decision made again, whose digest covers the whole trace: the
        explanation is confirmed the same to the letter, not only its outcome.
        """
        policy = self.policy_of(recorded.rule_set)
        again = json.loads(dumps(policy.evaluate(recorded.facts, recorded.decision["as_of"], trace=True, path="facts").to_dict()))
        compared = compact(again) if "trace_kept" in recorded.decision else again
        keys = list(dict.fromkeys([*recorded.decision, *compared]))
        differences = tuple(k for k in keys if recorded.decision.get(k) != compared.get(k))
        return Replay(recorded.id, not differences, differences, recorded.decision, again)

    def explained(self, recorded: RecordedDecision) -> RecordedDecision:
        """The recorded decision with its whole trace and questions: kept whole (older records), or derived again from its facts and rules.

        A decision whose trace is derived again carries ``trace_replayed``:
        ``"same"`` when trace and questions match the digest kept when the
        decision was made, ``"different"`` when they do not (the engine
        explains differently now; the outcome and everything else recorded
        are still as recorded), ``"unavailable"`` when the kept rules or facts
        no longer evaluate: the compact trace is then all there is.
        """
        kept = recorded.decision.get("trace_kept")
        if not kept:
            return recorded
        try:
            policy = self.policy_of(recorded.rule_set)
            again = json.loads(dumps(policy.evaluate(recorded.facts, recorded.decision["as_of"], trace=True, path="facts").to_dict()))
        except PolicyError:  # the kept rules or facts no longer evaluate (a later version reads them otherwise): show what was kept
            decision = {k: v for k, v in recorded.decision.items() if k != "trace_kept"} | {"questions": [], "trace_replayed": "unavailable"}
            return attrs.evolve(recorded, decision=decision)
        same = trace_digest(again) == kept.get("digest")
        decision = {k: again[k] if k in _DERIVED else recorded.decision.get(k, again[k]) for k in again}
        decision["trace_replayed"] = "same" if same else "different"
        return attrs.evolve(recorded, decision=decision)


class GroupCommit:
    """One thread writes decisions, committing everything waiting in one transaction.

    A commit that survives a power cut waits for the disk (``fsync``, about
    10 ms here); one commit per decision would cap the register at about a
    hundred decisions a second. Requests that arrive while a commit is under
    way are committed together by the next one; each caller's future is
    resolved only after the commit that holds its rows, so an answer of 201
    still means the decision is on disk. If a transaction of several callers
    fails, each is retried alone, so one bad record cannot sink the others.
    """

    BATCH = 500

    def __init__(self, engine: Engine, lock: threading.Lock) -> None:
        self.engine = engine
        self.lock = lock
        self.waiting: queue.SimpleQueue[tuple[list[dict[str, Any]], Future[list[int]]] | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.started = threading.Lock()

    def write(self, rows: list[dict[str, Any]]) -> Future[list[int]]:
        future: Future[list[int]] = Future()
        if not rows:
            future.set_result([])
            return future
        with self.started:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="policy-rules register writer", daemon=True)
                self.thread.start()
        self.waiting.put((rows, future))
        return future

    def close(self) -> None:
        with self.started:
            if self.thread is not None:
                self.waiting.put(None)
                self.thread.join()
                self.thread = None

    def _run(self) -> None:
        while True:
            first = self.waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.BATCH:
                try:
                    more = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._commit(batch)
                    return
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[tuple[list[dict[str, Any]], Future[list[int]]]]) -> None:
        try:
            found = self._insert([rows for rows, _future in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for one in batch:
                self._commit([one])
            return
        for (_rows, future), ids in zip(batch, found, strict=True):
            future.set_result(ids)

    def _insert(self, groups: list[list[dict[str, Any]]]) -> list[list[int]]:
        flat = [row for rows in groups for row in rows]
        insert = t.decisions.insert().returning(t.decisions.c.id, sort_by_parameter_order=True)
        with self.lock, self.engine.begin() as connection:
            ids = list(connection.execute(insert, flat).scalars())
        out, at = [], 0
        for rows in groups:
            out.append(ids[at : at + len(rows)])
            at += len(rows)
        return out


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.execute("PRAGMA synchronous=FULL")  # a committed decision survives a power cut, not only a crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _recorded(row: Any, overrides: tuple[Override, ...]) -> RecordedDecision:
    return RecordedDecision(row.id, row.recorded_at, row.recorded_by, row.rule_set, json.loads(row.facts), json.loads(row.decision), overrides)


def _save(row: Any) -> RuleSave:
    return RuleSave(row.id, row.saved_at, row.saved_by, row.recorded_by, row.reason, tuple(json.loads(row.files)), row.previous_rule_set, row.rule_set)


def _override(row: Any) -> Override:
    return Override(row.id, row.decision_id, row.outcome, row.reason, row.decided_by, row.recorded_by, row.recorded_at)


def _reason(error: sa.exc.DBAPIError) -> str:
    """The database's own words about a failure, on one line, without SQLAlchemy's trailer and the SQL."""
    return str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
