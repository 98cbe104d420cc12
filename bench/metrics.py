"""What recording metrics costs the write path: step completions/s with metrics off and on,
in the same run, on one database.

The same server kind is started four times over one database, alternately without
`ALEPH_METRICS_TOKEN` (nothing is recorded) and with it and `PROMETHEUS_MULTIPROC_DIR` (every
request, event, lock and feed recorded, in multi-process mode as in production); each time
`--agents` agents complete steps in their own arenas in a closed loop. The figure is the
mean rate with metrics on over the mean with them off. A scrape of `/metrics` is timed too.

    .venv/bin/python bench/metrics.py                  # SQLite, then PostgreSQL + Redis
    .venv/bin/python bench/metrics.py --db postgres --workers 2
"""

from __future__ import annotations

import statistics
import tempfile
import time

import common
import httpx
import writes

TOKEN = "bench-metrics-token-0123456789"


def bench(config: common.Configuration, args) -> dict:
    database = config.database()
    directory = tempfile.TemporaryDirectory(prefix="aleph-bench-metrics-")
    try:
        seed = common.run_in_tree(database, "arenas", count=args.agents, agents=args.agents)
        rates: dict[str, list[float]] = {"off": [], "on": []}
        scrapes: list[float] = []
        for round_ in range(args.rounds):
            for mode in ("off", "on"):
                env = {"ALEPH_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": directory.name}
                server = config.server_on(
                    database, workers=args.workers, extra_env=env if mode == "on" else {}
                )
                with server:
                    offset = 10_000_000 * (2 * round_ + (mode == "on")) + 1
                    agents = writes.completing_own_steps(seed, offset)
                    phase = common.run(
                        writes.closed_loop(
                            f"metrics {mode}", server, agents, args.seconds, args.warmup
                        )
                    )
                    if round_ == 0 and mode == "off":
                        print(f"-- {server.describe()}: {args.agents} agents, {args.seconds:.0f} s")
                    print(phase.line())
                    rates[mode].append(phase.rate)
                    if mode == "on":
                        for _ in range(5):
                            started = time.perf_counter()
                            response = httpx.get(
                                f"{server.url}/metrics",
                                headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=30,
                            )
                            scrapes.append(time.perf_counter() - started)
                            assert response.status_code == 200, response.text[:200]
        off, on = statistics.mean(rates["off"]), statistics.mean(rates["on"])
        print(
            f"   metrics on: {on / off:.1%} of the writes/s with metrics off "
            f"(cost {1 - on / off:+.1%}); a scrape {common.summary_ms(scrapes)}"
        )
        return {"config": server.describe(), "off": off, "on": on, "scrape": scrapes}
    finally:
        directory.cleanup()
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    writes.add_closed_loop_options(parser)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    args = common.begin(parser, "metrics: step completions/s with metrics off and on")
    results = [bench(config, args) for config in common.configurations(args)]
    common.print_summary(
        "(req/s; metrics on / off, same run)",
        (
            f"{r['config']:<38} off {r['off']:6.0f}  on {r['on']:6.0f} "
            f"({r['on'] / r['off']:.1%}); scrape p50 "
            f"{common.percentile(r['scrape'], 50) * 1000:.0f} ms"
            for r in results
        ),
    )


if __name__ == "__main__":
    main()
