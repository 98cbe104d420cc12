"""Real servers for end-to-end tests: Daphne processes on free ports over a fresh database.

Each `LiveServer` is a `daphne aleph_site.asgi:application` subprocess. Its database is a
fresh SQLite file, or a fresh PostgreSQL database when DATABASE_URL points at PostgreSQL,
migrated with `manage.py migrate`. Tests talk to it only as clients do: HTTP and websockets,
plus `manage.py` commands against the same database (create_agent, verify_arenas).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Database:
    """A fresh database for live servers; `drop()` removes a PostgreSQL one."""

    url: str
    _admin_url: str | None = None
    _name: str | None = None

    @classmethod
    def fresh(cls, tmp_path: Path) -> Database:
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith(("postgres://", "postgresql://")):
            import psycopg

            name = f"aleph_e2e_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            parsed = urlparse(base)
            db = cls(urlunparse(parsed._replace(path=f"/{name}")), base, name)
        else:
            db = cls(f"sqlite:///{tmp_path / 'live.sqlite3'}")
        db.manage("migrate", "--noinput")
        return db

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(DATABASE_URL=self.url, DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def manage(self, *args: str, **extra_env: str) -> str:
        """Run a management command against this database; its stdout."""
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def create_agent(self, agent_id: str, *extra: str) -> str:
        """Create (or re-issue) an agent through the command; its token."""
        return self.manage("create_agent", agent_id, *extra).strip().splitlines()[-1]

    def drop(self) -> None:
        if self._name is None:
            return
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


@dataclass
class LiveServer:
    database: Database
    redis_url: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    # "asgi": Daphne serving aleph_site.asgi (HTTP and websockets); "wsgi": granian serving
    # aleph_site.wsgi (HTTP only), as docs/deploy.md's split layout runs the REST API.
    interface: str = "asgi"

    def command(self) -> list[str]:
        if self.interface == "wsgi":
            return [
                PYTHON,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--blocking-threads",
                "4",
                "--no-access-log",
                "aleph_site.wsgi:application",
            ]
        return [
            PYTHON,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "aleph_site.asgi:application",
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LiveServer:
        env = self.database.env(**self.extra_env)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()[2]} exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.url}/api/health/", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.command()[2]} did not answer on port {self.port} within {timeout}s"
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
