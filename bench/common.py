"""What every benchmark shares: the production profile of the live-server harness, the
command-line options and the configurations they expand to, a lean HTTP client, websocket
feed helpers, process figures from /proc, and the statistics printed beside each figure.

Databases and servers come from the harness the tests use too (tests/support/liveserver.py:
fresh databases, servers on free ports, workers, Redis under a private channel prefix); here
they run with `PRODUCTION`: DJANGO_DEBUG=0, no access log, throttling off, psycopg's pool on
PostgreSQL, on 127.0.0.1 and a free port (never 8000). The benchmarks are load generators:
they run in their own process and talk to the server only over HTTP and websockets, as agents
do. Setup that is not being measured (agents, tokens, arenas, bulk event rows) goes through
the measured tree's domain in a short-lived subprocess (`run_in_tree`, bench/in_tree.py).

`--source DIR[,DIR...]` runs every configuration once per source tree (a `git worktree` of
another commit, say), each on a database of its own migrated by that tree, and labels each
figure with the tree and its commit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from tests.support.liveserver import KINDS, Database, LiveServer, Profile  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
IN_TREE = Path(__file__).resolve().parent / "in_tree.py"

PRODUCTION = Profile(
    name="bench",
    env={
        "DJANGO_SETTINGS_MODULE": os.environ.get("BENCH_SETTINGS_MODULE", "aleph_site.settings"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_BEHIND_TLS_PROXY": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "ALEPH_AGENT_THROTTLE_RATE": "off",
        "PYTHONUNBUFFERED": "1",
    },
    postgres_env={"ALEPH_DB_POOL": "1"},
    postgres_url=POSTGRES_URL,
    redis_url=REDIS_URL,
    database_prefix="aleph_bench",
    quiet=True,
)


# --- source trees and configurations --------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """A source tree to serve: this checkout, or another one (a `git worktree`)."""

    path: Path
    label: str  # how figures name it: the path as given and its commit ("" alone)

    @classmethod
    def of(cls, given: str) -> Tree:
        path = Path(given).expanduser().resolve()
        if not (path / "manage.py").is_file() or not (path / "arenas").is_dir():
            raise ValueError(f"{given}: not a source tree of this project (no manage.py, arenas/)")
        described = subprocess.run(
            ["git", "-C", str(path), "describe", "--always", "--dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return cls(path, f"{given} ({described})" if described else given)


def _trees(value: str) -> list[Tree]:
    """--source's value: the comma list of trees (this checkout, unlabelled, when empty)."""
    given = [s.strip() for s in value.split(",") if s.strip()]
    if not given:
        return [Tree(ROOT, "")]
    try:
        return [Tree.of(s) for s in given]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        type=_trees,
        default="",
        metavar="DIR[,DIR...]",
        help="source trees to serve, each on a database of its own and labelled in the "
        "figures, e.g. /tmp/before,. (default: this checkout, unlabelled)",
    )


def trees(args: argparse.Namespace) -> list[Tree]:
    return args.source


def argument_parser(
    doc: str, default_server: str, *, settings: bool = False
) -> argparse.ArgumentParser:
    """The options benchmarks share: --db, --layer, --server, --source (and --settings)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--layer",
        choices=["auto", "memory", "redis"],
        default="auto",
        help="channel layer; auto: in-memory on SQLite, Redis on PostgreSQL",
    )
    parser.add_argument("--server", default=default_server, help=f"comma list of {KINDS}")
    add_source_option(parser)
    if settings:
        parser.add_argument(
            "--settings",
            default="",
            help="comma list of settings modules to compare, e.g. bench.baseline_settings,"
            "aleph_site.settings (default: BENCH_SETTINGS_MODULE or aleph_site.settings)",
        )
    return parser


def database_kinds(args: argparse.Namespace) -> list[str]:
    return ["sqlite", "postgres"] if args.db == "both" else [args.db]


def uses_redis(args: argparse.Namespace, db_kind: str) -> bool:
    return args.layer == "redis" or (args.layer == "auto" and db_kind == "postgres")


@dataclass(frozen=True)
class Configuration:
    """One measured setup: database, channel layer, server, settings module, source tree."""

    db: str
    redis: bool
    server: str
    settings: str | None
    tree: Tree

    def database(self) -> Database:
        """A fresh database of this configuration, migrated by its tree."""
        return fresh_database(self.db, self.tree)

    def server_on(self, database: Database, **options: Any) -> LiveServer:
        """The configuration's server over `database` (not started); `options` such as
        workers go to LiveServer (`extra_env` is added to the configuration's)."""
        extra_env = {"DJANGO_SETTINGS_MODULE": self.settings} if self.settings else {}
        extra_env.update(options.pop("extra_env", {}))
        return LiveServer(
            database,
            redis_url=REDIS_URL if self.redis else None,
            kind=self.server,
            extra_env=extra_env,
            label=self.tree.label,
            **options,
        )


def configurations(args: argparse.Namespace) -> list[Configuration]:
    """Every configuration the options ask for; the settings modules and then the source
    trees vary fastest, so the figures to compare stand next to each other."""
    modules = [m.strip() for m in getattr(args, "settings", "").split(",") if m.strip()]
    return [
        Configuration(db, uses_redis(args, db), server.strip(), module, tree)
        for db in database_kinds(args)
        for server in args.server.split(",")
        for module in modules or [None]
        for tree in trees(args)
    ]


def fresh_database(kind: str, tree: Tree | None = None) -> Database:
    """A fresh database with the production profile, migrated by `tree` (this checkout)."""
    return Database.fresh(kind, profile=PRODUCTION, source=tree.path if tree else ROOT)


def run_in_tree(
    database: Database, command: str, env: dict[str, str] | None = None, **params: Any
) -> Any:
    """Run bench/in_tree.py's `command` in the database's tree against it (with `env` added
    to its environment); its JSON result."""
    out = database.python(str(IN_TREE), command, json.dumps(params), **(env or {}))
    return json.loads(out.strip().splitlines()[-1])


def raise_open_files_limit(wanted: int = 65536) -> int:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
    return max(target, soft)


# --- process figures from /proc ---------------------------------------------------------------


def rss_bytes(pids: Sequence[int]) -> int:
    """Resident set size of the processes, summed."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except FileNotFoundError:
            continue
    return total


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes have used, summed."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def pids_named(*names: str) -> list[int]:
    """Every process whose command name is one of `names` (e.g. postgres, redis-server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] in names:
            found.append(int(entry.name))
    return found


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def banner(title: str) -> None:
    print(f"== {title}")
    print(f"   machine: {machine()}; load average before: {load_average()}")


def begin(parser: argparse.ArgumentParser, title: str) -> argparse.Namespace:
    """Parse the options, raise the open-files limit (a load generator holds many sockets)
    and print the banner; the options."""
    args = parser.parse_args()
    raise_open_files_limit()
    banner(title)
    return args


def print_summary(title: str, lines: Iterable[str]) -> None:
    """The figures of every configuration again, one line each, at the end of a run."""
    print(f"== summary{title and ' '}{title}")
    for line in lines:
        print(f"   {line}")


# --- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> str:
    """p50 / p99 / max of seconds, in milliseconds."""
    if not values:
        return "p50 -  p99 -  max -"
    return (
        f"p50 {percentile(values, 50) * 1000:7.1f} ms  p99 {percentile(values, 99) * 1000:7.1f} ms"
        f"  max {max(values) * 1000:7.1f} ms"
    )


# --- a lean HTTP/1.1 client ----------------------------------------------------------------


class HttpError(Exception):
    pass


class HttpConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams.

    The load generator shares two cores with the server, so its cost per request matters:
    this client spends a fraction of httpx's CPU per request (see docs/performance.md), which
    leaves the cores to the server being measured. It speaks just enough HTTP/1.1 for JSON
    requests: Content-Length or chunked responses, reconnecting when the server closes.
    """

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.token = token
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its response: (status, body)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):
            if self._writer is None:
                await self._connect()
            try:
                self._writer.write(raw)
                return await self._read_response()
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read_response(self) -> tuple[int, bytes]:
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"bad status line {status_line!r}")
        status = int(parts[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self._reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        else:
            body = await self._reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def run(coroutine: Any) -> Any:
    """asyncio.run on uvloop when it is there: the load generator's own cost stays small."""
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


# --- websocket feed clients -------------------------------------------------------------------


async def open_feed(
    server: LiveServer, arena_id: str, token: str, after: int | None = None, timeout: float = 60.0
) -> tuple[Any, dict]:
    """Connect to an arena's feed as an agent: (websocket, snapshot message).

    No compression (messages are a few hundred bytes) and no client pings: what is measured
    is the feed itself."""
    from websockets.asyncio.client import connect

    query = "" if after is None else f"?after={after}"
    ws = await asyncio.wait_for(
        connect(
            f"{server.ws_url}/ws/arenas/{arena_id}/{query}",
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            ping_interval=None,
            max_size=None,
            open_timeout=timeout,
        ),
        timeout,
    )
    first = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    if first.get("type") != "snapshot":
        await ws.close()
        raise RuntimeError(f"expected a snapshot first, got {str(first)[:200]}")
    return ws, first


async def open_many(
    count: int, opener: Any, concurrency: int = 50
) -> tuple[list[Any], list[str], float]:
    """Run `opener(i)` for i in range(count), at most `concurrency` at a time:
    (results in order, errors, seconds taken)."""
    limit = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one(i: int) -> Any:
        async with limit:
            try:
                return await opener(i)
            except Exception as exc:
                errors.append(repr(exc)[:200])
                return None

    start = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(count)))
    return list(results), errors, time.perf_counter() - start
