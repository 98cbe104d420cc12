"""deploy/nginx.conf in front of the production layout of docs/deploy.md: two granian
processes serving HTTP over WSGI and a Daphne process serving websockets and MCP, in
production mode, sharing Redis.

The example file itself is served, with only its ports, addresses and certificate paths
replaced for the test: TLS, the redirect from plain HTTP, `X-Forwarded-Proto` reaching
Django (so no redirect loop), requests spread over both HTTP processes, the websocket upgrade
to the ASGI process, whose feed receives every write the HTTP processes took, MCP reaching
the ASGI process, and bodies over the app's limit reaching the app for its JSON 413.
Skipped where nginx is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.liveserver import ROOT, free_port
from tests.support.tools import skip_or_fail_missing

from .client import TIMEOUT_SECONDS, feed, receive_events
from .conftest import HTTP_KIND, LIVE_KIND
from .test_deploy_settings import HOST, documented_env

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

NGINX_CONF = ROOT / "deploy" / "nginx.conf"


class Nginx:
    """nginx in the foreground, serving deploy/nginx.conf on free ports."""

    def __init__(
        self, executable: str, directory: Path, upstream_ports: dict[str, list[int]]
    ) -> None:
        self.executable = executable
        self.directory = directory
        self.http_port = free_port()
        self.https_port = free_port()
        self.config = directory / "nginx.conf"
        self._write(upstream_ports)
        self.process: subprocess.Popen | None = None

    def _write(self, upstream_ports: dict[str, list[int]]) -> None:
        """`upstream_ports`: the ports of each upstream block, by its name."""
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            + ["-subj", f"/CN={HOST}", "-keyout", str(self.directory / "key.pem")]
            + ["-out", str(self.directory / "cert.pem")],
            check=True,
            capture_output=True,
        )
        site = NGINX_CONF.read_text()
        site = re.sub(r"\n *listen \[::\]:[^\n]*", "", site)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.http_port};")
        site = site.replace("listen 443 ", f"listen 127.0.0.1:{self.https_port} ")
        site = re.sub(
            r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(self.directory / "cert.pem"), site
        )
        site = re.sub(
            r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(self.directory / "key.pem"), site
        )
        assert set(re.findall(r"upstream (\w+) \{", site)) == set(upstream_ports)
        for name, ports in upstream_ports.items():
            servers = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
            site, replaced = re.subn(
                rf"(upstream {name} \{{\n(?:    #[^\n]*\n)*)(    server 127\.0\.0\.1:\d+;\n)+",
                lambda match, servers=servers: match.group(1) + servers,
                site,
            )
            assert replaced == 1, f"deploy/nginx.conf lists the {name} processes in one block"
        (self.directory / "aleph-arena.conf").write_text(site)
        temp = "".join(
            f"    {kind}_temp_path {self.directory / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            f"{user}daemon off;\npid {self.directory / 'nginx.pid'};\n"
            f"error_log {self.directory / 'error.log'};\nevents {{}}\n"
            f"http {{\n    access_log {self.directory / 'access.log'};\n{temp}"
            f"    include {self.directory / 'aleph-arena.conf'};\n}}\n"
        )

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    def start(self) -> None:
        checked = subprocess.run(
            [self.executable, "-t", "-c", str(self.config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.config)], stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.http_port}/", timeout=1.0)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        # Shown with a failing test's output: what nginx saw of the clients and upstreams.
        for name in ("error.log", "access.log"):
            log = self.directory / name
            if log.exists():
                print(f"--- nginx {name}\n{log.read_text()[-20_000:]}")


@pytest.fixture
def production_processes(redis_url, start_server):
    """The layout of deploy/: two HTTP processes (granian, WSGI) and one ASGI process
    (Daphne), with the production settings of deploy/env.example."""
    env = {k: v for k, v in documented_env().items() if k.startswith("DJANGO_")}
    return {
        "aleph_arena_http": [start_server(kind=HTTP_KIND, **env) for _ in range(2)],
        "aleph_arena_live": [start_server(kind=LIVE_KIND, **env)],
    }


@pytest.fixture
def nginx(production_processes, tmp_path) -> Iterator[Nginx]:
    executable = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if executable is None or shutil.which("openssl") is None:
        skip_or_fail_missing(
            "needs nginx (and openssl for its certificate) to serve deploy/nginx.conf"
        )
    ports = {name: [s.port for s in servers] for name, servers in production_processes.items()}
    proxy = Nginx(executable, tmp_path, ports)
    proxy.start()
    yield proxy
    proxy.stop()


def test_nginx_example_serves_http_and_websockets_over_tls_from_several_processes(
    nginx, production_processes, tokens
):
    lead_token, worker_token = tokens["lead"], tokens["worker-a"]
    plain = httpx.get(
        f"http://127.0.0.1:{nginx.http_port}/api/health/", headers={"Host": HOST}, timeout=30
    )
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{HOST}/api/health/"

    def agent(token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://127.0.0.1:{nginx.https_port}",
            headers={"Host": HOST, "Authorization": f"Bearer {token}"},
            verify=False,
            timeout=TIMEOUT_SECONDS,
        )

    with agent(lead_token) as lead, agent(worker_token) as worker:
        health = lead.get("/api/health/")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=31536000")

        created = lead.post(
            "/api/arenas/",
            json={
                "goal": "Behind nginx",
                "total_steps": 10,
                "participants": [{"agent_id": "worker-a", "role": "worker"}],
            },
        )
        assert created.status_code == 201, created.text
        arena_id = created.json()["id"]
        assert lead.post(f"/api/arenas/{arena_id}/activate/").status_code == 200

        untrusted = ssl.create_default_context()
        untrusted.check_hostname = False
        untrusted.verify_mode = ssl.CERT_NONE
        with feed(nginx, worker_token, arena_id, ssl=untrusted) as websocket:
            written = []
            for step in range(1, 11):
                response = worker.post(f"/api/arenas/{arena_id}/steps/", json={"step": step})
                assert response.status_code == 201, response.text
                written.append(response.json()["event"])
            assert receive_events(websocket, 10) == written

        too_big = worker.post(
            f"/api/arenas/{arena_id}/messages/",
            content=b'{"text": "' + b"x" * (9 * 1024 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "payload_too_large"

        # MCP goes to the ASGI process (the WSGI application has no MCP server).
        initialized = worker.post(
            "/mcp/",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "nginx-test", "version": "1"},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert initialized.status_code == 200, initialized.text
        assert "serverInfo" in initialized.text

    for server in production_processes["aleph_arena_http"]:
        served = server.log_path.read_text()
        assert f"POST /api/arenas/{arena_id}/steps/" in served, "nginx used every process"
    [live] = production_processes["aleph_arena_live"]
    served = live.log_path.read_text()
    assert "/mcp/" in served and "/steps/" not in served, "HTTP went to WSGI, MCP to ASGI"


def _sent_head(nginx: Nginx, head: str) -> ssl.SSLSocket:
    """A TLS connection to nginx that has sent a request's head (and no body yet)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", nginx.https_port), timeout=TIMEOUT_SECONDS)
    connection = context.wrap_socket(raw, server_hostname=HOST)
    connection.sendall(head.encode())
    return connection


def _until_closed(connection: ssl.SSLSocket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except (ssl.SSLError, ConnectionError):
        pass
    return received


def test_nginx_bounds_a_body_declared_huge_or_trickled(nginx, production_processes, tokens):
    """What bounds a client that declares a huge body and trickles it (docs/deploy.md):
    nginx refuses a length over client_max_body_size at once, and drops a body that stops
    arriving after client_body_timeout; neither request ever reaches a server process."""
    token = tokens["lead"]
    body_timeout = float(re.search(r"client_body_timeout (\d+)s;", NGINX_CONF.read_text())[1])

    def head(length: int) -> str:
        return (
            f"POST /api/arenas/?trickled={length} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )

    with _sent_head(nginx, head(10**12)) as huge:
        assert _until_closed(huge).startswith(b"HTTP/1.1 413")

    started = time.monotonic()
    with _sent_head(nginx, head(5 * 1024 * 1024)) as trickling:
        trickling.sendall(b'{"goal": "')
        _until_closed(trickling)
    held = time.monotonic() - started
    assert body_timeout - 1 < held < body_timeout + 15, held

    for server in [s for servers in production_processes.values() for s in servers]:
        assert "trickled=" not in server.log_path.read_text()
