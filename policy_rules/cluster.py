"""The decide step of a register run elsewhere: in worker processes (``--jobs``) or on a Dask cluster (``--cluster``).

A register in columns is decided a batch at a time, and deciding a batch is
a pure map from a table of facts to a table of decisions
(``columns.decide_by_columns``: the columnar mode, its rows left decided by rows). So the run reads and
writes the register here, in order, and hands batches out: to worker
processes, or to the workers of an existing Dask cluster
(``distributed.Client.submit``, at most ``2 * workers`` batches in flight,
so memory stays flat and the decisions file is written as it is decided).
What travels is the rules' text and Arrow IPC bytes; each worker builds the
policy from the text once (``policy_from_sources``), so no policy object is
ever pickled, and every worker decides with exactly the rules read here. The
decisions are the same bytes as a run in one process.

``decide_on_cluster`` is the Python call: a register file, a scheduler's
address, a decisions file.

Place in the layers: beside the command line and the service, above the
facade, because a worker builds its policy through the facade's loader.
"""

from __future__ import annotations

import hashlib
import signal
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from datetime import date
from typing import Any

import pyarrow as pa

from policy_rules.api import Policy, policy_from_sources
from policy_rules.errors import UsageError
from policy_rules.registers.columns import Batch, Decided, Decider, named

#: Policies built on this worker from rules' text, by the text's digest (a worker may serve runs of several rule sets).
_POLICIES: dict[str, Policy] = {}


def _digest(sources: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode("utf-8") + b"\0" + sources[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def _policy(sources: Mapping[str, str], title: str) -> Policy:
    key = _digest(sources) + title
    found = _POLICIES.get(key)
    if found is None:
        if len(_POLICIES) > 8:
            _POLICIES.clear()
        found = _POLICIES[key] = policy_from_sources(dict(sources), title)
    return found


def to_ipc(table: pa.Table) -> bytes:
    """A table as Arrow IPC stream bytes: what crosses to a worker and back."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def decide_ipc(sources: Mapping[str, str], title: str, as_of: str, facts: bytes) -> bytes:
    """A worker's task: the decisions of a batch of facts, both as Arrow IPC bytes, by the policy built here from the rules' text."""
    from policy_rules.registers.columns import arrow_memory_returned, arrow_without_pandas, decide_by_columns

    arrow_without_pandas()
    arrow_memory_returned()
    policy = _policy(sources, title)
    return to_ipc(decide_by_columns(policy, from_ipc(facts), date.fromisoformat(as_of)))


def _in_order(submit: Callable[[bytes], Future[bytes] | Any], window: int) -> Decider:
    """Batches handed out ``window`` at a time and their decisions given back in register order."""

    def run(batches: Iterator[Batch]) -> Iterator[Decided]:
        pending: deque[tuple[Batch, Any]] = deque()
        for batch in batches:
            pending.append((batch, submit(to_ipc(batch.facts))))
            while len(pending) >= window:
                done, future = pending.popleft()
                yield named(done, from_ipc(future.result()))
        while pending:
            done, future = pending.popleft()
            yield named(done, from_ipc(future.result()))

    return run


def in_processes(jobs: int, sources: Mapping[str, str], title: str, as_of: date) -> Decider:
    """Batches decided by ``jobs`` worker processes (started with ``spawn``: nothing of this process's state is copied into them).

    Work is handed out with Ctrl-C and SIGTERM blocked, and the workers
    ignore both, so that only this process receives them: it stops the
    workers and says how far the run got, as the row path's workers do.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    def run(batches: Iterator[Batch]) -> Iterator[Decided]:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_signals)

        def submit(facts: bytes) -> Future[bytes]:
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                return pool.submit(decide_ipc, dict(sources), title, as_of.isoformat(), facts)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

        try:
            yield from _in_order(submit, 2 * jobs)(batches)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return run


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("deciding on a cluster needs Dask (pip install '.[cluster]')", "--cluster") from None
    if not address.startswith(("tcp://", "tls://", "inproc://")):
        raise UsageError(f"`{address}` is not a scheduler's address; give one such as tcp://10.0.0.5:8786", "--cluster")
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address} ({error}); check that it runs and the address", "--cluster") from None


def on_cluster(address: str | Any, sources: Mapping[str, str], title: str, as_of: date) -> Decider:
    """Batches decided on the workers of a Dask cluster: ``address`` is a scheduler's (``tcp://HOST:PORT``) or a ``distributed.Client``."""

    def run(batches: Iterator[Batch]) -> Iterator[Decided]:
        client = _client(address) if isinstance(address, str) else address
        try:
            workers = max(len(client.scheduler_info().get("workers", {})), 1)
            rules = client.scatter(dict(sources), broadcast=True, hash=False)
            when = as_of.isoformat()
            yield from _in_order(lambda facts: client.submit(decide_ipc, rules, title, when, facts, pure=False), 2 * workers)(batches)
        finally:
            if isinstance(address, str):
                client.close()

    return run


def decide_on_cluster(rules: str, register: str, output: str, address: str | Any, *, as_of: date | str | None = None, spend: str | None = None) -> Any:
    """Decide the register file ``register`` with the rules in ``rules`` on a Dask cluster, writing ``output`` (``.csv``, ``.jsonl``, ``.json`` or
    ``.parquet``) as ``policy-rules evaluate --output`` writes it; the register's ``Summary``.

    ``address`` is a scheduler's address or a ``distributed.Client``.
    """
    from policy_rules.language.checker import default_title
    from policy_rules.language.loader import read_sources
    from policy_rules.registers.columns import ColumnRegister, ColumnWriter, run_columns
    from policy_rules.registers.register import spend_fact_of
    from policy_rules.safety.outputs import refuse_overwriting_inputs
    from policy_rules.values.dates import parse_as_of

    refuse_overwriting_inputs([("output", output)], [("the register", register), ("a rule file", rules)])
    sources = read_sources([rules])
    title = default_title(rules)
    policy = policy_from_sources(sources, title)
    when = parse_as_of(as_of)
    spend_fact = spend_fact_of(policy, spend)
    writer = ColumnWriter(output, policy, when, spend_fact)
    try:
        summary = run_columns(
            policy, ColumnRegister(register, policy), when, writer=writer, spend_fact=spend_fact, decider=on_cluster(address, sources, title, when)
        )
    except BaseException:
        writer.discard()
        raise
    writer.close()
    return summary
