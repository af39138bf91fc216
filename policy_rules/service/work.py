"""``Workers``: where the service's CPU-bound work runs, off the event loop, bounded in number, waiting and time.

Its place: every endpoint that decides, checks, formats, plans or works out
an impact hands that work to ``Workers.run``; the event loop only reads
requests and writes answers, so ``/healthz`` and light requests keep answering
in milliseconds while one heavy request is decided.

Three bounds protect the machine. **Threads**: at most ``threads`` pieces of
work run at once (one per core by default; Python runs one at a time on the
interpreter's lock, but the loop gets its turn every few milliseconds, which
is what keeps it answering). **Waiting**: at most ``queue`` more wait for a
thread; beyond that a request is answered 503 at once with ``Retry-After``,
rather than piling up. **Time**: a request not done within ``time_limit``
seconds is answered 503 with ``Retry-After``; what it would have recorded or
saved is not, since recording happens only after the decision comes back in
time. A thread cannot be stopped part-way, so such work runs on in the
background and keeps its place among the running ones until it ends: heavy
requests beyond the bounds wait or are refused, they never multiply. Work made
of many pieces (a batch of services) calls ``stop_if_given_up()`` between pieces and
stops at the next one once its request has been answered 503.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

#: Seconds a client is told to wait before trying again when the service is busy.
RETRY_AFTER = 2


@attrs.frozen
class Busy(Exception):
    """The service cannot take the work now (too much waiting) or did not finish it in time: a 503 with ``Retry-After``."""

    message: str
    retry_after: int = RETRY_AFTER


class GivenUp(Exception):
    """Raised inside work whose request was already answered 503, to stop it at the next piece; nobody receives it."""


_GIVEN_UP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("given_up", default=None)


def stop_if_given_up() -> None:
    """Raise ``GivenUp`` when the request of the work on this thread was answered 503 for taking too long: nothing will read the result.

    What a loop over many services calls before each.
    """
    event = _GIVEN_UP.get()
    if event is not None and event.is_set():
        raise GivenUp


class Workers:
    """A bounded pool of threads for CPU-bound work, with a bounded wait and a time limit per piece of work."""

    def __init__(self, threads: int, queue: int, time_limit: float) -> None:
        self.threads = threads
        self.queue = queue
        self.time_limit = time_limit
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="policy-rules-work")
        self._lock = threading.Lock()
        self._unfinished = 0  # running or waiting; lowered only when the work itself ends, not when its request gives up

    async def run(self, work: Callable[..., T], *args: Any, time_limit: float | None = None) -> T:
        """``work(*args)`` on a thread of the pool; ``Busy`` when too much is waiting or it takes longer than the time limit.

        ``time_limit`` is this call's own limit in seconds (``None``: the
        pool's; ``0``: none, for work that must never be given up half-way,
        such as saving rule files, whose request is authenticated).
        """
        with self._lock:
            if self._unfinished >= self.threads + self.queue:
                raise Busy(f"the service is busy ({self._unfinished} requests being worked on); try again in {RETRY_AFTER} seconds")
            self._unfinished += 1
        abandoned = threading.Event()

        def call() -> T:
            _GIVEN_UP.set(abandoned)  # in this call's own copy of the context: no other work sees it
            return work(*args)

        try:
            future = asyncio.get_running_loop().run_in_executor(self._pool, contextvars.copy_context().run, call)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _f: self._done())
        limit = self.time_limit if time_limit is None else time_limit
        if not limit:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except TimeoutError:
            abandoned.set()
            future.add_done_callback(_consume)
            raise Busy(
                f"this request took longer than the service allows ({limit:g} s), so nothing was recorded; "
                "send fewer services or smaller facts, or start the server with a larger --time-limit"
            ) from None

    def _done(self) -> None:
        with self._lock:
            self._unfinished -= 1

    def close(self) -> None:
        """Stop taking work; what runs finishes first."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _consume(future: asyncio.Future[Any]) -> None:
    """Collect the result of work given up on, so an error it raises is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


def json_bytes(value: Any) -> bytes:
    """``value`` as the JSON an answer carries, made on a worker's thread: a large decision's encoding is work too."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


__all__ = ["RETRY_AFTER", "Busy", "GivenUp", "Workers", "json_bytes", "stop_if_given_up"]
