"""What one step completion costs the server, in-process: CPU per call and SQL statements;
and a claim cycle (`POST …/claims/next/`, then `POST …/steps/` with the claim's `claim_id`).

No network and no ASGI server: Django's test client drives the real middleware, DRF view and
domain over a fresh database, so the figures are the framework's and the application's own
work per request. Each figure is printed beside `GET /api/health/` measured the same way in
the same run. `--profile` adds the functions that take the most time (cProfile).

    .venv/bin/python bench/write_cost.py --db postgres
    .venv/bin/python bench/write_cost.py --db sqlite --profile
    .venv/bin/python bench/write_cost.py --db postgres --profile usage --sort tottime
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

import common


def _cpu_per_call(fn, calls: int) -> float:
    fn()  # warm: imports, URL resolver, prepared connections
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def measure(
    database: common.Database, calls: int, profile: str | None, sort: str = "cumulative"
) -> None:
    seed = common.run_in_tree(database, "arenas", count=3, agents=3)
    os.environ.update(database.env())  # Django in this process: the database, production settings
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from arenas import agents
    from arenas.manager import ArenaManager

    token = seed["tokens"][seed["arenas"][0]["agent"]]
    arena_id = seed["arenas"][0]["id"]
    other = seed["arenas"][1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    path = f"/api/arenas/{arena_id}/steps/"
    steps = iter(range(1, 10**9))

    def health():
        assert client.get("/api/health/").status_code == 200

    def step():
        response = client.post(path, {"step": next(steps)}, content_type="application/json")
        assert response.status_code == 201, response.content

    # The claim cycle, in the third arena (its agent's own token).
    third = seed["arenas"][2]
    cycler = Client(
        HTTP_AUTHORIZATION=f"Bearer {seed['tokens'][third['agent']]}", HTTP_HOST="127.0.0.1"
    )
    claims_path = f"/api/arenas/{third['id']}/claims/next/"
    cycle_steps = f"/api/arenas/{third['id']}/steps/"

    def claim_next():
        response = cycler.post(claims_path, {}, content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()["claim"]

    def cycle():
        claim = claim_next()
        body = {"step": claim["step"], "claim_id": claim["claim_id"]}
        response = cycler.post(cycle_steps, body, content_type="application/json")
        assert response.status_code == 201, response.content

    handle = ArenaManager().handle(other["id"], other["agent"])
    domain_steps = iter(range(1, 10**9))

    def domain():
        handle.complete_step(next(domain_steps))

    def auth():
        assert agents.authenticate(token) is not None

    # A usage report against a message post, in the second arena (its agent's own token).
    reporter = Client(
        HTTP_AUTHORIZATION=f"Bearer {seed['tokens'][other['agent']]}", HTTP_HOST="127.0.0.1"
    )

    def message():
        response = reporter.post(
            f"/api/arenas/{other['id']}/messages/",
            {"text": "hello"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    def report():
        body = {"model": "gpt-4o", "input_tokens": 900, "output_tokens": 80, "cost_usd": "0.001234"}
        response = reporter.post(
            f"/api/arenas/{other['id']}/usage/", body, content_type="application/json"
        )
        assert response.status_code == 201, response.content

    asgi_step, django_asgi_step = _asgi_posts(path, token, steps)

    with CaptureQueriesContext(connection) as queries:
        step()
    print(f"   statements per step completion: {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print(f"      {q['sql'][:150]}")
    with CaptureQueriesContext(connection) as queries:
        claim_next()
    print(f"   statements per claims/next: {len(queries.captured_queries)}")
    for name, fn in (("message post", message), ("usage report", report)):
        with CaptureQueriesContext(connection) as queries:
            fn()
        print(f"   statements per {name}: {len(queries.captured_queries)}")
        for q in queries.captured_queries:
            print(f"      {q['sql'][:150]}")
    floor = _cpu_per_call(health, calls)
    print(f"   GET /api/health/           {floor * 1e6:7.0f} µs CPU per request (the floor)")
    for name, fn in (
        ("POST …/steps/", step),
        ("  the same over ASGI", asgi_step),
        ("  … Django's ASGI handler", django_asgi_step),
        ("claim cycle (2 requests)", cycle),
        ("ArenaHandle.complete_step", domain),
        ("agents.authenticate", auth),
        ("POST …/messages/", message),
        ("POST …/usage/", report),
    ):
        cost = _cpu_per_call(fn, calls)
        print(f"   {name:<26} {cost * 1e6:7.0f} µs CPU per call ({cost / floor:4.1f}× the floor)")
    if profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
        profiler.enable()
        for _ in range(calls):
            {"cycle": cycle, "usage": report, "message": message}.get(profile, step)()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(sort)
        stats.print_stats(45)
        print(out.getvalue())


def _asgi_posts(path: str, token: str, steps) -> tuple:
    """Step completions through an ASGI application in this process, as a server calls it:
    the handler `aleph_site.asgi` serves Django with, and Django's own. Unlike the test client
    (which keeps its database connection: it turns off `close_old_connections`), each request
    runs in a thread of its own and closes its connection at the end, as under a server. The
    CPU counted is the whole process's, threads included."""
    import asyncio
    import json

    from django.core.handlers.asgi import ASGIHandler

    from aleph_site.handlers import OneHopASGIHandler

    loop = asyncio.new_event_loop()

    def post(application):
        body = json.dumps({"step": next(steps)}).encode()
        headers = [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])
        sent = []

        async def receive():
            try:
                return next(messages)
            except StopIteration:
                await asyncio.Event().wait()  # no disconnect: the handler cancels this

        async def send(message):
            sent.append(message)

        loop.run_until_complete(application(scope, receive, send))
        assert sent[0]["status"] == 201, sent

    ours, django_handler = OneHopASGIHandler(), ASGIHandler()
    return (lambda: post(ours)), (lambda: post(django_handler))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="step",
        choices=["step", "cycle", "usage", "message"],
        help="print a CPU profile of step completions (or of claim cycles, usage reports, "
        "message posts)",
    )
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative, tottime")
    args = parser.parse_args()
    common.banner("write cost: CPU and SQL statements per step completion, in-process")
    database = common.fresh_database(args.db)
    try:
        print(f"-- {database.kind}")
        measure(database, args.calls, args.profile, args.sort)
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()


if __name__ == "__main__":
    main()
