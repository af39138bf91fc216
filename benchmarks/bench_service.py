"""Load on the decision service over loopback: requests per second and p50/p99 latency.

    python benchmarks/bench_service.py [--seconds 10] [--concurrency 32] [--rate 200] [--db URL]

Starts ``policy-rules serve rules/haringey`` in a process of its own on
127.0.0.1 (a fresh SQLite register in a temporary folder unless ``--db``
names another), then drives it with a small asyncio client (HTTP/1.1 keep-alive, one
connection per concurrent worker, on asyncio streams) sending generated Haringey services:

1. ``POST /v1/evaluate`` without the trace, closed loop at ``--concurrency``;
2. the same with the trace;
3. ``POST /v1/decisions`` (recorded, with the trace), closed loop;
4. explained decisions (``/v1/evaluate`` with the trace) at a fixed ``--rate`` a
   second, open loop: latency as a client sees it when the server is not saturated;
5. recorded decisions at the same fixed rate.

The client shares the machine's cores with the server, so closed-loop figures
are what one machine does end to end. Every loop is bounded in requests and
seconds, and only 127.0.0.1 is ever sent to. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.haringey_services import generate  # noqa: E402

#: The register needs a token: the benchmark gives the server one of its own and sends it with every request.
TOKEN = secrets.token_urlsafe(32)
from tests.support.service_support import free_port  # noqa: E402


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the least a client can cost, so the figures are the server's.

    httpx's async pool spends more CPU per request than the server does; on a shared 2-core machine
    that would measure the client. Bodies are JSON sent with Content-Length; answers are read by theirs.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(headers[9:12])
        length = 0
        for line in headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def closed_loop(url: str, path: str, bodies: list[bytes], seconds: float, concurrency: int, limit: int) -> tuple[int, float, list[float]]:
    """``concurrency`` connections, each sending its next request as soon as the last is answered."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(limit))
    host, port = url.removeprefix("http://").split(":")

    async def worker() -> None:
        nonlocal failures
        connection = Connection(host, int(port))
        try:
            for n in counter:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                status = await connection.post(path, bodies[n % len(bodies)])
                latencies.append(time.perf_counter() - start)
                failures += status >= 300
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures, time.perf_counter() - began, latencies


async def open_loop(url: str, path: str, bodies: list[bytes], seconds: float, rate: float) -> tuple[int, float, list[float]]:
    """Requests started at a fixed rate whatever the answers do, as independent clients would send them.

    Each request takes a free connection of a pool of 64 (opening another when none is free), so a
    server that cannot keep up shows as latency growing, measured from the moment the request was due.
    """
    latencies: list[float] = []
    failures = 0
    total = int(seconds * rate)
    host, port = url.removeprefix("http://").split(":")
    free: list[Connection] = [Connection(host, int(port)) for _ in range(64)]
    kinds: dict[str, int] = {}
    opened = list(free)

    async def one(n: int, due: float) -> None:
        nonlocal failures
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        connection = free.pop() if free else Connection(host, int(port))
        if connection not in opened:
            opened.append(connection)
        try:
            status = await connection.post(path, bodies[n % len(bodies)])
        except (OSError, asyncio.IncompleteReadError) as error:
            failures += 1
            kinds[type(error).__name__] = kinds.get(type(error).__name__, 0) + 1
            return
        latencies.append(time.perf_counter() - due)
        failures += status >= 300
        free.append(connection)

    began = time.perf_counter()
    await asyncio.gather(*(one(n, began + n / rate) for n in range(total)))
    elapsed = time.perf_counter() - began
    for connection in opened:
        await connection.close()
    if kinds:
        print(f"  requests that got no answer: {kinds}")
    return failures, elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (user and system), from /proc: what a request costs the server, whatever else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, pid: int, measured: object) -> None:
    before = cpu_seconds(pid)
    failures, elapsed, latencies = asyncio.run(measured)  # type: ignore[arg-type]
    used = cpu_seconds(pid) - before
    count = len(latencies)
    print(
        f"{name:<46} {count / elapsed:>8,.0f} req/s   p50 {statistics.median(latencies) * 1000:7.2f} ms   "
        f"p99 {_percentile(latencies, 0.99) * 1000:7.2f} ms   server CPU {used / max(count, 1) * 1000:5.2f} ms/req "
        f"({count:,} requests, {failures} not 2xx)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each closed loop runs (default 10)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections of the closed loops (default 32)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second of the open loops (default 200)")
    parser.add_argument("--db", help="the register (default: a new SQLite file in a temporary folder)")
    args = parser.parse_args()

    services = generate(2000, seed=15)
    plain = [json.dumps({"facts": s, "as_of": "2025-04-01", "trace": False}).encode() for s in services]
    traced = [json.dumps({"facts": s, "as_of": "2025-04-01", "trace": True}).encode() for s in services]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or os.path.join(folder, "bench.db")
        command = [sys.executable, "-m", "policy_rules.cli", "serve", str(ROOT / "rules" / "haringey"), "--port", str(port), "--db", db]
        server = subprocess.Popen(command, stderr=subprocess.DEVNULL, env={**os.environ, "POLICY_RULES_TOKENS": f"bench={TOKEN}"})
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            for body in traced[:200]:  # warm up: the traced code is compiled on first use
                httpx.post(f"{url}/v1/evaluate", content=body, headers={"content-type": "application/json"})
            print(f"policy-rules serve rules/haringey on {url}, register {'given' if args.db else 'SQLite in a temporary folder'}; {os.cpu_count()} cores")
            bound = int(args.seconds * 20_000)
            pid = server.pid
            report("evaluate, no trace (closed loop)", pid, closed_loop(url, "/v1/evaluate", plain, args.seconds, args.concurrency, bound))
            report("evaluate, with trace (closed loop)", pid, closed_loop(url, "/v1/evaluate", traced, args.seconds, args.concurrency, bound))
            report("recorded decisions (closed loop)", pid, closed_loop(url, "/v1/decisions", traced, args.seconds, args.concurrency, bound))
            report(f"evaluate, with trace, at {args.rate:.0f}/s (open loop)", pid, open_loop(url, "/v1/evaluate", traced, args.seconds, args.rate))
            report(f"recorded decisions at {args.rate:.0f}/s (open loop)", pid, open_loop(url, "/v1/decisions", traced, args.seconds, args.rate))
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
