"""Webhook delivery from a live server to a local receiver, beside references from the same run.

1. Throughput: one subscription across 4 arenas, a backlog of `--events` events written
   while the server did not deliver; then a server process that delivers starts, and the
   receiver (in this process, answering 204 at once, verifying every signature with
   `standardwebhooks`) times the backlog's arrival. Reference: the same number of signed
   POSTs sent to the same receiver by a bare asyncio sender (a subprocess, 4 connections).
2. Lag: a paced writer (`--rate` step completions/s over the 4 arenas) and the same
   subscription: from each write's response (its commit) to the receiver getting its event,
   p50/p99. Reference: the writes' own latency.
3. Isolation: step completions/s in a closed loop (`--agents` agents, own arenas), phases
   alternating between no subscription and a subscription to a receiver that accepts
   connections and never answers (`--rounds` of each, and no subscription once more at the
   end): a dead receiver must not slow writes.

    .venv/bin/python bench/webhooks.py              # SQLite, then PostgreSQL
    .venv/bin/python bench/webhooks.py --db postgres --events 20000
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import common
import writes

RECEIVER_ENV = {"ALEPH_WEBHOOK_ALLOW_HTTP": "1", "ALEPH_WEBHOOK_ALLOW_PRIVATE": "1"}
ARENAS = 4


@dataclass
class Receiver:
    """An HTTP/1.1 receiver on asyncio streams: verifies, records and answers each POST (or,
    `silent`, reads it and never answers)."""

    secret: str = ""
    silent: bool = False
    arrivals: dict[tuple[str, int], float] = field(default_factory=dict)
    invalid: int = 0
    received: int = 0
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from standardwebhooks import Webhook, WebhookVerificationError

        verifier = None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {}
                for line in lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.silent:
                    continue
                now = time.perf_counter()
                self.received += 1
                if verifier is None:
                    verifier = Webhook(self.secret)
                try:
                    event = verifier.verify(body, headers)
                    self.arrivals.setdefault((event["arena_id"], event["seq"]), now)
                except WebhookVerificationError:
                    self.invalid += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


def rate_of(times: list[float]) -> float:
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


async def _throughput(config: common.Configuration, args) -> dict:
    database = config.database()
    receiver = await Receiver().start()
    try:
        seed = common.run_in_tree(database, "arenas", count=ARENAS, agents=1)
        subscription = common.run_in_tree(database, "subscribe", env=RECEIVER_ENV, url=receiver.url)
        receiver.secret = subscription["secret"]
        per_arena = args.events // ARENAS
        for arena in seed["arenas"]:
            common.run_in_tree(
                database, "step_events", arena_id=arena["id"], agent_id=arena["agent"],
                count=per_arena,
            )  # fmt: skip
        total = per_arena * ARENAS
        server = config.server_on(database, workers=args.workers, extra_env=RECEIVER_ENV)
        with server:
            print(f"-- {server.describe()}: a backlog of {total} events over {ARENAS} arenas")
            pids = server.worker_pids()
            cpu = common.cpu_seconds(pids)
            arrived = await receiver.wait_for(total, timeout=600)
            cpu = common.cpu_seconds(pids) - cpu
        times = list(receiver.arrivals.values())
        delivered = rate_of(times)
        print(
            f"   delivered {len(times)}/{total} ({'all' if arrived else 'NOT ALL'}), "
            f"invalid signatures {receiver.invalid}: {delivered:,.0f} deliveries/s, "
            f"server CPU {cpu / max(len(times), 1) * 1e6:,.0f} µs per delivery"
        )
        reference = await _bare_sender(receiver, total)
        print(f"   reference, a bare asyncio sender to the same receiver: {reference:,.0f} POSTs/s")
        return {"config": server.describe(), "deliveries": delivered, "reference": reference}
    finally:
        await receiver.close()
        database.drop()


async def _bare_sender(receiver: Receiver, count: int) -> float:
    """Signed POSTs of webhook-sized bodies from a subprocess over ARENAS connections."""
    receiver.arrivals.clear()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__)), "--sender", str(receiver.port), str(count),
        receiver.secret,
    )  # fmt: skip
    await receiver.wait_for(count, timeout=600)
    await process.wait()
    return rate_of(list(receiver.arrivals.values()))


async def _sender(port: int, count: int, secret: str) -> None:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    signer = Webhook(secret)

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        arena = f"00000000-0000-4000-8000-00000000000{index}"
        for seq in range(1, count // ARENAS + 1):
            body = json.dumps(
                {"arena_id": arena, "seq": seq, "type": "step_completed",
                 "timestamp": "2026-01-01T00:00:00.000000Z", "actor": "agent-00000",
                 "step": seq, "agent_id": "agent-00000", "completed_steps": seq,
                 "total_steps": 0},
                separators=(",", ":"),
            ).encode()  # fmt: skip
            now = datetime.now(UTC)
            message_id = f"{arena}:{seq}"
            head = (
                f"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"webhook-id: {message_id}\r\nwebhook-timestamp: {int(now.timestamp())}\r\n"
                f"webhook-signature: {signer.sign(message_id, now, body)}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await reader.readuntil(b"\r\n\r\n")
        writer.close()

    await asyncio.gather(*(connection(i) for i in range(ARENAS)))


async def _lag(config: common.Configuration, args) -> dict:
    database = config.database()
    receiver = await Receiver().start()
    try:
        seed = common.run_in_tree(database, "arenas", count=ARENAS, agents=1)
        token = next(iter(seed["tokens"].values()))
        with config.server_on(database, workers=args.workers, extra_env=RECEIVER_ENV) as server:
            receiver.secret = common.run_in_tree(
                database, "subscribe", env=RECEIVER_ENV, url=receiver.url
            )["secret"]
            print(f"-- {server.describe()}: {args.rate:.0f} writes/s for {args.seconds:.0f} s")
            connections = [common.HttpConnection(server.port, token) for _ in range(ARENAS)]
            committed: dict[tuple[str, int], float] = {}
            latencies: list[float] = []
            interval = ARENAS / args.rate
            steps = [0] * ARENAS

            async def writer(index: int) -> None:
                arena_id = seed["arenas"][index]["id"]
                start = time.perf_counter() + index * interval / ARENAS
                n = 0
                while True:
                    due = start + n * interval
                    if due > start + args.seconds:
                        return
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    steps[index] += 1
                    sent = time.perf_counter()
                    status, body = await connections[index].request(
                        "POST", f"/api/arenas/{arena_id}/steps/", {"step": steps[index]}
                    )
                    done = time.perf_counter()
                    if status == 201:
                        committed[(arena_id, json.loads(body)["event"]["seq"])] = done
                        latencies.append(done - sent)
                    n += 1

            await asyncio.gather(*(writer(i) for i in range(ARENAS)))
            deadline = time.monotonic() + 60
            while not all(key in receiver.arrivals for key in committed):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            for connection in connections:
                await connection.close()
        lags = [receiver.arrivals[k] - t for k, t in committed.items() if k in receiver.arrivals]
        missing = len(committed) - len(lags)
        print(f"   commit → delivered  {common.summary_ms(lags)}  missing {missing}")
        print(f"   the writes' latency {common.summary_ms(latencies)}")
        return {
            "config": server.describe(),
            "lag_p50": common.percentile(lags, 50) * 1000,
            "lag_p99": common.percentile(lags, 99) * 1000,
            "write_p99": common.percentile(latencies, 99) * 1000,
            "missing": missing,
        }
    finally:
        await receiver.close()
        database.drop()


async def _isolation(config: common.Configuration, args) -> dict:
    database = config.database()
    silent = await Receiver(silent=True).start()
    try:
        seed = common.run_in_tree(database, "arenas", count=args.agents, agents=args.agents)
        with config.server_on(database, workers=args.workers, extra_env=RECEIVER_ENV) as server:
            print(f"-- {server.describe()}: {args.agents} agents, {args.seconds:.0f} s per phase")

            phases = []
            names = ["no subscription", "receiver never answers"] * args.rounds
            for name in [*names, "no subscription"]:
                subscribed = name == "receiver never answers"
                if subscribed:
                    hook = common.run_in_tree(
                        database, "subscribe", env=RECEIVER_ENV, url=silent.url
                    )
                offset = 10_000_000 * len(phases) + 1
                pack = writes.completing_own_steps(seed, offset)
                phase = await writes.closed_loop(name, server, pack, args.seconds, args.warmup)
                print(phase.line())
                phases.append(phase)
                if subscribed:
                    common.run_in_tree(database, "unsubscribe", subscription_id=hook["id"])
        reference = statistics.mean(p.rate for p in phases[0::2])
        dead = statistics.mean(p.rate for p in phases[1::2])
        cpu = [p.server_cpu / max(len(p.latencies), 1) * 1e6 for p in phases]
        print(
            f"   with a receiver that never answers: {dead / reference:.1%} of the writes/s "
            f"without; server CPU per write {statistics.mean(cpu[1::2]):,.0f} µs against "
            f"{statistics.mean(cpu[0::2]):,.0f} µs"
        )
        return {"config": server.describe(), "none": reference, "dead": dead}
    finally:
        await silent.close()
        database.drop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sender":
        asyncio.run(_sender(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        return
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--events", type=int, default=8000, help="backlog, over 4 arenas")
    parser.add_argument("--rate", type=float, default=40.0, help="paced writes/s (lag)")
    writes.add_closed_loop_options(parser)
    parser.add_argument("--rounds", type=int, default=2, help="isolation: none/dead pairs")
    args = common.begin(parser, "webhooks: deliveries/s, commit-to-delivery lag, isolation")
    results = []
    for config in common.configurations(args):
        results.append(
            (
                common.run(_throughput(config, args)),
                common.run(_lag(config, args)),
                common.run(_isolation(config, args)),
            )
        )
    common.print_summary(
        "",
        (
            f"{t['config']:<28} {t['deliveries']:6,.0f} deliveries/s (bare sender "
            f"{t['reference']:,.0f}/s); lag p50 {lag['lag_p50']:.0f} ms p99 "
            f"{lag['lag_p99']:.0f} ms (write p99 {lag['write_p99']:.0f} ms, missing "
            f"{lag['missing']}); writes/s {i['none']:.0f} without, {i['dead']:.0f} with a dead "
            f"receiver ({i['dead'] / i['none']:.0%})"
            for t, lag, i in results
        ),
    )


if __name__ == "__main__":
    main()
