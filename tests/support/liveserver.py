"""Real servers over fresh databases: the one harness the tests and the benchmarks share.

- `Database.fresh(...)`: a SQLite file in a temporary directory, or a PostgreSQL database of
  its own, migrated: the first database of a tree, kind and profile in a process is migrated by
  `manage.py migrate` as a template, and each fresh one is a copy of it (SQLite's backup API;
  PostgreSQL's `CREATE DATABASE … TEMPLATE`), which costs milliseconds instead of a migrate
  (templates are dropped when the process exits); `manage(...)`, `create_agent(...)` and
  `python(...)` run commands against it, `create_staff(...)` adds a person who signs in,
  `drop()` removes it.
- `LiveServer(database, kind=...)`: a server on 127.0.0.1 and a free port. `kind` is one of
  daphne, uvicorn, granian (ASGI: HTTP and websockets, aleph_site.asgi) or granian-wsgi (HTTP
  only, aleph_site.wsgi, as docs/deploy.md's split layout serves the REST API); `workers`
  processes; the in-memory channel layer, or Redis (`redis_url`) under a channel prefix of
  its database's own. `start()` returns once `/api/health/` answers and every worker runs;
  `stop()` (SIGTERM), `kill()` (SIGKILL, no clean-up); its output goes to `log_path`;
  `signed_in(username, password)` is an httpx client holding a user's session.
- `Profile`: how those processes are configured. `TESTS` (this module) is the suite's:
  DJANGO_DEBUG=1, access logs on, PostgreSQL when DATABASE_URL says so, Redis at REDIS_URL;
  the processes inherit DJANGO_SETTINGS_MODULE from the environment, which pytest-django
  sets to the suite's settings (tests/settings.py: a fast password hasher).
  The benchmarks' production profile (DJANGO_DEBUG=0, throttling off, psycopg's pool on
  PostgreSQL, warnings only) is another instance, in bench/common.py.
- Source trees: the commands and servers of a database run the tree it was created for
  (`Database.fresh(source=...)`, default: this checkout) unless a server names another
  (`LiveServer(source=...)`, which migrates the database with that tree first). A tree runs
  as its own working directory and first on PYTHONPATH, so a `git worktree` of another commit
  is served, and migrated, by its own `arenas` and `aleph_site` even though the virtualenv
  has this checkout installed in editable mode (that finder comes after PYTHONPATH).

Isolation on shared services: a database's PostgreSQL name starts with ALEPH_TEST_DB_NAME
when that is set (the name pytest-django's test database takes) and ends with a random key;
its servers' channel prefix is ALEPH_CHANNEL_PREFIX from the environment followed by the same
key. Parallel runs on one PostgreSQL and one Redis therefore never meet, and the servers of
one database (one test) hear each other.

Why here: the tests import `tests.support.liveserver` as they always have, and the benchmark
scripts (`bench/common.py`) put the checkout's root on sys.path and import the same module. It
stays out of the installed packages (pyproject lists aleph_site and arenas only) and imports
nothing of the application: it drives it through subprocesses, so it works for any tree.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
KINDS = ("daphne", "uvicorn", "granian", "granian-wsgi")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _identifier(text: str) -> str:
    """`text` as a PostgreSQL database name part: lower case letters, digits, underscores."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())[:40]


@dataclass(frozen=True)
class Profile:
    """One configuration of the processes the harness starts."""

    name: str  # starts temporary file names; the channel prefix without ALEPH_CHANNEL_PREFIX
    env: Mapping[str, str]  # set on top of this process's environment
    postgres_env: Mapping[str, str]  # on PostgreSQL, unless this process's environment has them
    postgres_url: str  # the PostgreSQL server fresh databases are made on ("": none)
    redis_url: str | None  # the shared Redis: drop() deletes the keys servers left there
    database_prefix: str  # a fresh PostgreSQL database's name starts with it
    quiet: bool = False  # servers log warnings and errors only, no access log

    @property
    def default_kind(self) -> str:
        return "postgres" if self.postgres_url else "sqlite"


def _tests_profile() -> Profile:
    """The suite's: PostgreSQL when DATABASE_URL points there (ALEPH_TEST_DB_NAME is then a
    PostgreSQL name, and the live databases' names start with it), Redis at REDIS_URL."""
    database_url = os.environ.get("DATABASE_URL", "")
    on_postgres = database_url.startswith(("postgres:", "postgresql:"))
    test_name = os.environ.get("ALEPH_TEST_DB_NAME", "") if on_postgres else ""
    return Profile(
        name="test",
        env={"DJANGO_DEBUG": "1", "PYTHONUNBUFFERED": "1"},
        postgres_env={},
        postgres_url=database_url if on_postgres else "",
        redis_url=os.environ.get("REDIS_URL") or None,
        database_prefix=f"{_identifier(test_name)}_live" if test_name else "aleph_e2e",
    )


TESTS = _tests_profile()


@dataclass
class Database:
    """A fresh, migrated database of one source tree; `drop()` removes it."""

    kind: str
    url: str
    profile: Profile
    source: Path
    key: str  # random: ends the PostgreSQL name and the servers' channel prefix
    channel_prefix: str
    _admin_url: str | None = None
    _name: str | None = None
    _tmp: tempfile.TemporaryDirectory | None = None
    _redis_used: bool = False

    @classmethod
    def fresh(
        cls,
        kind: str | None = None,
        *,
        profile: Profile = TESTS,
        source: Path = ROOT,
        directory: Path | None = None,
    ) -> Database:
        """`kind` sqlite or postgres (default: the profile's); the SQLite file goes in
        `directory` (default: a temporary directory removed by drop())."""
        kind = kind or profile.default_kind
        source = Path(source).resolve()
        if not (source / "manage.py").is_file():
            raise ValueError(f"{source} is not a source tree of this project (no manage.py)")
        if kind not in ("sqlite", "postgres"):
            raise ValueError(f"unknown database kind {kind!r}")
        if kind == "postgres" and not profile.postgres_url:
            raise ValueError("no PostgreSQL server: set DATABASE_URL=postgres://...")
        template = _template(kind, profile, source)
        db = cls._empty(kind, profile, source, directory, template=template)
        if kind == "sqlite":
            origin = sqlite3.connect(template.url.removeprefix("sqlite:///"))
            copy = sqlite3.connect(db.url.removeprefix("sqlite:///"))
            with closing(origin), closing(copy):
                origin.backup(copy)
        return db

    @classmethod
    def _empty(
        cls,
        kind: str,
        profile: Profile,
        source: Path,
        directory: Path | None,
        template: Database | None = None,
    ) -> Database:
        """A database with nothing in it, or on PostgreSQL a copy of `template`'s."""
        key = uuid.uuid4().hex[:12]
        prefix = f"{os.environ.get('ALEPH_CHANNEL_PREFIX') or profile.name}-{key}"
        common = {"profile": profile, "source": source, "key": key, "channel_prefix": prefix}
        if kind == "sqlite":
            tmp = None
            if directory is None:
                tmp = tempfile.TemporaryDirectory(prefix=f"aleph-{profile.name}-")
                directory = Path(tmp.name)
            return cls(kind, f"sqlite:///{directory / 'live.sqlite3'}", _tmp=tmp, **common)
        import psycopg

        name = f"{profile.database_prefix}_{key}"
        copy = f' TEMPLATE "{template._name}"' if template is not None else ""
        with psycopg.connect(profile.postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        parsed = urlparse(profile.postgres_url)
        url = urlunparse(parsed._replace(path=f"/{name}"))
        return cls(kind, url, _admin_url=profile.postgres_url, _name=name, **common)

    def env(self, source: Path | None = None, **extra: str) -> dict[str, str]:
        """The environment of a command or server of `source` (default: the database's tree)
        on this database: this process's environment, the profile's, then `extra`."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(self.profile.env)
        env["DATABASE_URL"] = self.url
        if self.kind == "postgres":
            for name, value in self.profile.postgres_env.items():
                env.setdefault(name, value)
        paths = [str(source or self.source), os.environ.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        env.update(extra)
        return env

    def python(
        self, *args: str, source: Path | None = None, timeout: float = 3600, **extra_env: str
    ) -> str:
        """Run this interpreter with `args` in the tree `source` (default: the database's)
        against this database; its stdout. A failure raises with the output."""
        result = subprocess.run(
            [PYTHON, *args],
            cwd=source or self.source,
            env=self.env(source, **extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"python {' '.join(args)[:300]} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def manage(self, *args: str, **extra_env: str) -> str:
        """Run a management command of the database's tree against it; its stdout."""
        return self.python("manage.py", *args, timeout=600, **extra_env)

    def create_agent(self, agent_id: str, *extra: str) -> str:
        """Create (or re-issue) an agent through the command; its token."""
        return self.manage("create_agent", agent_id, *extra).strip().splitlines()[-1]

    def create_staff(self, username: str, password: str) -> None:
        """Create a staff user (a superuser, through `createsuperuser`): a person who signs
        in to the dashboard and may answer through the REST API with its session."""
        self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
            DJANGO_SUPERUSER_PASSWORD=password,
        )

    def drop(self) -> None:
        """Remove the database, and the keys its servers left under its channel prefix in the
        profile's shared Redis (a Redis a test started for itself is the test's own)."""
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._name is not None:
            import psycopg

            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        if self._redis_used:
            import redis

            client = redis.Redis.from_url(self.profile.redis_url)
            try:
                keys = list(client.scan_iter(match=f"{self.channel_prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()


_TEMPLATES: dict[tuple[str, str, Path, str], Database] = {}


def _migrations_fingerprint(source: Path) -> str:
    """What the migrations of `source` are now: a template is only reused for the same."""
    digest = hashlib.sha256()
    for path in sorted(source.glob("*/migrations/*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def _template(kind: str, profile: Profile, source: Path) -> Database:
    """The migrated database fresh ones of this kind, profile and tree are copied from."""
    key = (kind, repr(profile), source, _migrations_fingerprint(source))
    template = _TEMPLATES.get(key)
    if template is None:
        template = Database._empty(kind, profile, source, None)
        try:
            template.manage("migrate", "--noinput")
        except BaseException:
            template.drop()
            raise
        _TEMPLATES[key] = template
    return template


@atexit.register
def _drop_templates() -> None:
    while _TEMPLATES:
        _, template = _TEMPLATES.popitem()
        try:
            template.drop()
        except Exception as error:  # the server may be gone at exit: say so, go on
            print(f"could not drop the template database {template.url}: {error}", file=sys.stderr)


@dataclass
class LiveServer:
    """One server (`workers` processes) of the database's tree, or of `source`: a server of
    another tree first migrates the database with that tree's migrations (which adds what
    that tree adds; give each tree a database of its own to compare them).

    Daphne has no worker option: several Daphne processes share one listening socket passed
    with `--fd`, and the kernel hands each new connection to one of them. uvicorn and
    granian start their own workers. Each server runs in a process group of its own, which
    stop() and kill() signal whole.
    """

    database: Database
    redis_url: str | None = None
    kind: str = "daphne"
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # default: a temporary file, removed by stop()
    source: Path | None = None  # default: the database's tree
    label: str = ""  # added to describe()
    app: str = "aleph_site.asgi:application"  # the ASGI application (not granian-wsgi's)
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    _socket: socket.socket | None = None
    _temporary_log: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown server {self.kind!r}: one of {KINDS}")
        self.source = Path(self.source).resolve() if self.source else self.database.source

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def describe(self) -> str:
        layer = "redis" if self.redis_url else "in-memory layer"
        settings = self.extra_env.get("DJANGO_SETTINGS_MODULE")
        parts = [f"{self.kind} x{self.workers}", self.database.kind, layer, settings, self.label]
        return ", ".join(part for part in parts if part)

    def env(self) -> dict[str, str]:
        env = self.database.env(self.source)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
            env["ALEPH_CHANNEL_PREFIX"] = self.database.channel_prefix
        env.update(self.extra_env)
        return env

    def _commands(self) -> list[tuple[list[str], tuple[int, ...]]]:
        """(command, file descriptors it inherits) for each process to start."""
        quiet = self.database.profile.quiet
        app = self.app
        if self.kind == "daphne":
            daphne = [PYTHON, "-m", "daphne", *(["-v", "0"] if quiet else [])]
            if self.workers == 1:
                return [([*daphne, "-b", "127.0.0.1", "-p", str(self.port), app], ())]
            self._socket = socket.socket()
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", self.port))
            self._socket.listen(4096)
            self._socket.set_inheritable(True)
            fd = self._socket.fileno()
            return [([*daphne, "--fd", str(fd), app], (fd,))] * self.workers
        address = ["--host", "127.0.0.1", "--port", str(self.port), "--backlog", "4096"]
        logging = ["--no-access-log", "--log-level", "warning"] if quiet else []
        if self.kind == "uvicorn":
            command = [PYTHON, "-m", "uvicorn", app, *address, *logging]
            command += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets"]
            if self.workers > 1:
                command += ["--workers", str(self.workers)]
            return [(command, ())]
        # granian logs no requests unless asked to (uvicorn and Daphne do).
        logging = logging or ["--access-log"]
        granian = [PYTHON, "-m", "granian", *address, *logging, "--workers", str(self.workers)]
        if self.kind == "granian-wsgi":
            wsgi = ["--interface", "wsgi", "--blocking-threads", "8"]
            return [([*granian, *wsgi, "aleph_site.wsgi:application"], ())]
        return [([*granian, "--interface", "asgi", "--loop", "uvloop", app], ())]

    def start(self, timeout: float = 60.0) -> LiveServer:
        if self.source != self.database.source:
            self.database.python("manage.py", "migrate", "--noinput", source=self.source)
        if self.log_path is None:
            handle, name = tempfile.mkstemp(
                prefix=f"aleph-{self.database.profile.name}-{self.kind}-", suffix=".log"
            )
            os.close(handle)
            self.log_path, self._temporary_log = Path(name), True
        env = self.env()
        if self.redis_url and self.redis_url == self.database.profile.redis_url:
            self.database._redis_used = True
        with open(self.log_path, "ab") as log:
            for command, fds in self._commands():
                self.processes.append(
                    subprocess.Popen(
                        command,
                        cwd=self.source,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        pass_fds=fds,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"{self.kind} exited early:\n{tail}")
            try:
                httpx.get(f"{self.url}/api/health/", timeout=2.0)
                if len(self.worker_pids()) >= self.workers:
                    if self.workers > 1:
                        time.sleep(0.5)  # the last workers to answer finish starting
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer on port {self.port} in {timeout}s:\n{tail}")

    def signed_in(self, username: str, password: str, timeout: float = 30.0) -> httpx.Client:
        """A client of this server holding a user's session, signed in through the login
        form as a browser is; it sends the CSRF token (`X-CSRFToken`) the REST API asks of
        a session. RuntimeError when the login is refused."""
        client = httpx.Client(base_url=self.url, timeout=timeout)
        form = client.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        response = client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": username,
                "password": password,
            },
        )
        if response.status_code != 302:
            client.close()
            raise RuntimeError(f"the login of {username!r} was refused ({response.status_code})")
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        return client

    def log_tail(self, size: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-size:]

    def all_pids(self) -> list[int]:
        """Every process of the server: the ones started and all their descendants."""
        pids = [p.pid for p in self.processes if p.poll() is None]
        found = list(pids)
        while pids:
            children = []
            for pid in pids:
                try:
                    for task in Path(f"/proc/{pid}/task").iterdir():
                        children.extend(int(c) for c in (task / "children").read_text().split())
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
        if self.kind == "uvicorn" and self.workers == 1:
            return list(top)
        return [pid for pid in pids if pid not in top and not _is_helper(pid)]

    def _signal(self, signum: int) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signum)

    def stop(self) -> None:
        """SIGTERM to every process of the server; SIGKILL to those still there after 15 s."""
        self._signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._release()

    def kill(self) -> None:
        """SIGKILL: the processes get no chance to clean up."""
        self._signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()
        self._release()

    def _release(self) -> None:
        self.processes.clear()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._temporary_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path, self._temporary_log = None, False

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker, which uvicorn's worker spawning starts."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True
