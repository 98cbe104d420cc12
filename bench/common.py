"""What every benchmark shares: fresh databases, servers on free ports, seeding, a lean HTTP
client, and the statistics printed beside each figure.

The benchmarks are load generators: they run in their own process and talk to the server
only over HTTP and websockets, as agents do. Setup that is not being measured (agents,
tokens, arenas, bulk event rows) goes through the domain in a short-lived subprocess
(`python bench/common.py seed ...`) pointed at the same fresh database.

Servers run with production settings (DJANGO_DEBUG=0, no access log, throttling off), on
127.0.0.1 and a free port (never 8000), over a fresh SQLite file or a fresh PostgreSQL
database, with the in-memory channel layer or Redis under a private key prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVERS = ("daphne", "uvicorn", "granian", "granian-wsgi")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def argument_parser(
    doc: str, default_server: str, *, settings: bool = False
) -> argparse.ArgumentParser:
    """The options every benchmark shares: --db, --layer, --server (and --settings)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--layer",
        choices=["auto", "memory", "redis"],
        default="auto",
        help="channel layer; auto: in-memory on SQLite, Redis on PostgreSQL",
    )
    parser.add_argument("--server", default=default_server, help=f"comma list of {SERVERS}")
    if settings:
        parser.add_argument(
            "--settings",
            default="",
            help="comma list of settings modules to compare, e.g. bench.baseline_settings,"
            "aleph_site.settings (default: BENCH_SETTINGS_MODULE or aleph_site.settings)",
        )
    return parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


# --- databases ------------------------------------------------------------------------------


@dataclass
class Database:
    """A fresh, migrated database: a SQLite file in a temporary directory, or a PostgreSQL
    database of its own on the server at BENCH_POSTGRES_URL. `drop()` removes it."""

    kind: str
    url: str
    _tmp: tempfile.TemporaryDirectory | None = None
    _name: str | None = None

    @classmethod
    def fresh(cls, kind: str) -> Database:
        if kind == "sqlite":
            tmp = tempfile.TemporaryDirectory(prefix="aleph-bench-")
            db = cls(kind, f"sqlite:///{tmp.name}/bench.sqlite3", _tmp=tmp)
        elif kind == "postgres":
            import psycopg

            name = f"aleph_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            db = cls(kind, urlunparse(urlparse(POSTGRES_URL)._replace(path=f"/{name}")), _name=name)
        else:
            raise ValueError(f"unknown database kind {kind!r}")
        db.manage("migrate", "--noinput")
        return db

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a server or command on this database, production settings."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            DATABASE_URL=self.url,
            DJANGO_SETTINGS_MODULE=os.environ.get("BENCH_SETTINGS_MODULE", "aleph_site.settings"),
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_SECURE_COOKIES="0",
            DJANGO_BEHIND_TLS_PROXY="0",
            DJANGO_HSTS_SECONDS="0",
            DJANGO_LOG_LEVEL="WARNING",
            ALEPH_AGENT_THROTTLE_RATE="off",
            PYTHONUNBUFFERED="1",
        )
        if self.kind == "postgres":
            env.setdefault("ALEPH_DB_POOL", "1")
        env.update(extra)
        return env

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def seed(self, command: str, **params: Any) -> Any:
        """Run `seed_<command>` below in a subprocess on this database; its JSON result."""
        result = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "seed", command, json.dumps(params)],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"seed {command} failed:\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def drop(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._name is not None:
            import psycopg

            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


# --- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    """One server (`workers` processes) serving aleph_site.asgi:application, or
    aleph_site.wsgi:application for `granian-wsgi` (HTTP only).

    Daphne has no worker option: several Daphne processes share one listening socket passed
    with `--fd`, and the kernel hands each new connection to one of them. uvicorn and
    granian start their own workers.
    """

    kind: str
    database: Database
    redis: bool = False
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"bench{uuid.uuid4().hex[:8]}")
    _socket: socket.socket | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def describe(self) -> str:
        layer = "redis" if self.redis else "in-memory layer"
        settings = self.extra_env.get("DJANGO_SETTINGS_MODULE")
        suffix = f", {settings}" if settings else ""
        return f"{self.kind} x{self.workers}, {self.database.kind}, {layer}{suffix}"

    def _env(self) -> dict[str, str]:
        env = self.database.env(**self.extra_env)
        if self.redis:
            env["REDIS_URL"] = REDIS_URL
            env["ALEPH_CHANNEL_PREFIX"] = self.prefix
        return env

    def _commands(self) -> list[tuple[list[str], tuple[int, ...]]]:
        app = "aleph_site.asgi:application"
        if self.kind == "daphne":
            daphne = [PYTHON, "-m", "daphne", "-v", "0"]  # warnings and errors, no access log
            if self.workers == 1:
                return [([*daphne, "-b", "127.0.0.1", "-p", str(self.port), app], ())]
            self._socket = socket.socket()
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", self.port))
            self._socket.listen(4096)
            self._socket.set_inheritable(True)
            fd = self._socket.fileno()
            command = [*daphne, "--fd", str(fd), app]
            return [(command, (fd,))] * self.workers
        if self.kind == "uvicorn":
            command = [
                PYTHON,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
            command += ["--no-access-log", "--log-level", "warning", "--backlog", "4096"]
            command += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets"]
            if self.workers > 1:
                command += ["--workers", str(self.workers)]
            return [(command, ())]
        if self.kind == "granian-wsgi":
            # HTTP only (aleph_site.wsgi), as the split layout of docs/deploy.md serves the API.
            command = [PYTHON, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--workers", str(self.workers)]
            command += ["--no-access-log", "--log-level", "warning", "--backlog", "4096"]
            command += ["--blocking-threads", "8", "aleph_site.wsgi:application"]
            return [(command, ())]
        if self.kind == "granian":
            command = [PYTHON, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--workers", str(self.workers)]
            command += ["--no-access-log", "--log-level", "warning", "--backlog", "4096"]
            command += ["--loop", "uvloop", app]
            return [(command, ())]
        raise ValueError(f"unknown server {self.kind!r}")

    def start(self, timeout: float = 60.0) -> Server:
        import httpx

        env = self._env()
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by stop())
            prefix=f"bench-{self.kind}-", suffix=".log"
        )
        for command, fds in self._commands():
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.kind} exited early:\n{self.log_tail()}")
            try:
                httpx.get(f"{self.url}/api/health/", timeout=2.0)
                if len(self.worker_pids()) >= self.workers:
                    time.sleep(0.5)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, size: int = 4000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-size:]

    def all_pids(self) -> list[int]:
        """Every process of the server: the ones started and all their descendants."""
        pids = [p.pid for p in self.processes if p.poll() is None]
        found = list(pids)
        while pids:
            children = []
            for pid in pids:
                try:
                    tasks = Path(f"/proc/{pid}/task").iterdir()
                    for task in tasks:
                        text = (task / "children").read_text().split()
                        children.extend(int(c) for c in text)
                except (FileNotFoundError, ProcessLookupError):
                    continue
            found.extend(children)
            pids = children
        return found

    def worker_pids(self) -> list[int]:
        """The processes that run the application (not uvicorn's or granian's supervisor)."""
        pids = self.all_pids()
        if self.kind == "daphne":
            return pids
        top = {p.pid for p in self.processes}
        workers = [pid for pid in pids if pid not in top and not _is_helper(pid)]
        if self.kind == "uvicorn" and self.workers == 1:
            return list(top)
        return workers

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.redis:
            flush_redis_prefix(self.prefix)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker, which uvicorn's worker spawning starts."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True


def settings_env(module: str | None) -> dict[str, str]:
    """Server environment that serves `module` instead of the default settings."""
    return {"DJANGO_SETTINGS_MODULE": module} if module else {}


def flush_redis_prefix(prefix: str) -> None:
    """Delete the keys a server left under its private channel-layer prefix."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


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
    server: Server, arena_id: str, token: str, after: int | None = None, timeout: float = 60.0
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


# --- seeding through the domain (runs in a subprocess: `python bench/common.py seed ...`) -------


def seed_agents(count: int, prefix: str = "agent") -> dict[str, str]:
    """Create `count` agents, each with one token: {agent_id: token}."""
    from arenas.agents import create_agent, issue_token

    tokens = {}
    for i in range(count):
        agent = create_agent(f"{prefix}-{i:05d}")
        tokens[agent.agent_id], _ = issue_token(agent)
    return tokens


def seed_arenas(
    count: int = 0, agents: int = 0, shared_members: int = 0, total_steps: int = 0
) -> dict[str, Any]:
    """`agents` agents with tokens; `count` active arenas, arena i created by agent
    i % agents; and, when `shared_members` > 0, one more active arena whose creator is agent
    0 and whose other members are agents 1..shared_members-1 as workers."""
    from arenas.manager import ArenaManager

    manager = ArenaManager()
    tokens = seed_agents(agents)
    ids = list(tokens)
    arenas = []
    for i in range(count):
        creator = ids[i % len(ids)]
        arena_id = manager.create(
            {"goal": f"bench arena {i}", "total_steps": total_steps}, created_by=creator
        )
        manager.handle(arena_id, creator).act("activate")
        arenas.append({"id": str(arena_id), "agent": creator})
    shared = None
    if shared_members:
        members = [{"agent_id": a, "role": "worker"} for a in ids[1:shared_members]]
        arena_id = manager.create(
            {"goal": "bench shared arena", "total_steps": total_steps, "participants": members},
            created_by=ids[0],
        )
        manager.handle(arena_id, ids[0]).act("activate")
        shared = str(arena_id)
    return {"tokens": tokens, "arenas": arenas, "shared": shared}


def seed_step_events(arena_id: str, agent_id: str, count: int) -> dict[str, Any]:
    """Append `count` step_completed events (steps last+1 …) to an active open-ended arena in
    bulk, with their StepCompletion rows and the arena's counters, as `complete_step` would
    leave them: the stored aggregate still equals the replayed one. COPY on PostgreSQL,
    executemany on SQLite, in batches of one transaction each."""
    from django.db import connection, transaction
    from django.utils import timezone

    from arenas.events import FIELDS
    from arenas.models import Arena, Event, EventType, StepCompletion

    assert FIELDS[EventType.STEP_COMPLETED] == (
        "step",
        "agent_id",
        "completed_steps",
        "total_steps",
    )
    event_table = Event._meta.db_table
    completion_table = StepCompletion._meta.db_table
    batch = 50_000
    done = 0
    while done < count:
        size = min(batch, count - done)
        with transaction.atomic():
            arena = Arena.objects.select_for_update().get(pk=arena_id)
            now = timezone.now()
            first_seq = arena.last_seq + 1
            first_step = arena.completed_steps + 1
            arena_hex = arena.id.hex if connection.vendor == "sqlite" else str(arena.id)
            event_rows = []
            completion_rows = []
            for i in range(size):
                step = first_step + i
                data = json.dumps(
                    {
                        "step": step,
                        "agent_id": agent_id,
                        "completed_steps": step,
                        "total_steps": arena.total_steps,
                    }
                )
                event_rows.append(
                    (arena_hex, first_seq + i, EventType.STEP_COMPLETED, now, agent_id, data)
                )
                completion_rows.append((arena_hex, step, agent_id, now))
            event_columns = "arena_id, seq, type, timestamp, actor, data"
            completion_columns = "arena_id, step, agent_id, completed_at"
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    raw = cursor.cursor
                    with raw.copy(f"COPY {event_table} ({event_columns}) FROM STDIN") as copy:
                        for row in event_rows:
                            copy.write_row(row)
                    with raw.copy(
                        f"COPY {completion_table} ({completion_columns}) FROM STDIN"
                    ) as copy:
                        for row in completion_rows:
                            copy.write_row(row)
                else:
                    stamp = connection.ops.adapt_datetimefield_value(now)
                    cursor.executemany(
                        f"INSERT INTO {event_table} ({event_columns}) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        [(*r[:3], stamp, *r[4:]) for r in event_rows],
                    )
                    cursor.executemany(
                        f"INSERT INTO {completion_table} ({completion_columns}) "
                        "VALUES (%s, %s, %s, %s)",
                        [(*r[:3], stamp) for r in completion_rows],
                    )
            arena.last_seq += size
            arena.completed_steps += size
            arena.last_activity_at = now
            arena.save(update_fields=["last_seq", "completed_steps", "last_activity_at"])
        done += size
    arena = Arena.objects.get(pk=arena_id)
    return {"last_seq": arena.last_seq, "completed_steps": arena.completed_steps}


def _seed_main(argv: list[str]) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    command, params = argv[0], json.loads(argv[1])
    result = {"agents": seed_agents, "arenas": seed_arenas, "step_events": seed_step_events}[
        command
    ](**params)
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "seed":
        _seed_main(sys.argv[2:])
    else:
        sys.exit("usage: python bench/common.py seed <agents|arenas|step_events> '<json>'")
