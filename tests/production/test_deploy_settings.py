"""Production settings (DJANGO_DEBUG=0): what `docs/deploy.md` promises an operator.

Each test runs Django in a subprocess with the deployment's environment variables, as a
server would start: `check --deploy` is clean, a missing secret key stops the start with a
clear message, and a Daphne process in production mode behind a TLS proxy redirects plain
HTTP, sends the security headers and serves collected static files through whitenoise.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import httpx
import pytest

from tests.support.liveserver import ROOT, LiveServer, free_port

ENV_EXAMPLE = ROOT / "deploy" / "env.example"


def documented_env() -> dict[str, str]:
    """deploy/env.example as systemd's EnvironmentFile reads it, with a fresh secret key."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    values["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(64)
    return values


def production_env(**overrides: str) -> dict[str, str]:
    """A production process's environment: this one's PATH and such, deploy/env.example's
    settings, and `overrides`."""
    own = ("DJANGO_", "ALEPH_", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(documented_env())
    env.update(overrides)
    return env


HOST = documented_env()["DJANGO_ALLOWED_HOSTS"]
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_no_issue_with_the_documented_production_settings():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]

    result = run(
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "aleph_site.asgi:application",
        env=env,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG=0." in result.stderr


def test_models_and_migrations_agree():
    """`migrate` at deploy time creates exactly the tables the code expects."""
    result = run("manage.py", "makemigrations", "--check", "--dry-run", env=dict(os.environ))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def production_server(live_db, tmp_path):
    """A Daphne process with DJANGO_DEBUG=0 and static files collected as deploy.md says."""
    env = {k: v for k, v in documented_env().items() if k.startswith("DJANGO_")}
    env["DJANGO_STATIC_ROOT"] = str(tmp_path / "static")
    live_db.manage("collectstatic", "--noinput", **env)
    server = LiveServer(live_db, extra_env=env, log_path=tmp_path / "daphne.log").start()
    yield server
    server.stop()


@pytest.mark.e2e
def test_production_server_behind_a_tls_proxy_is_secure_and_serves_static_files(
    production_server,
):
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        plain = client.get("/admin/login/", headers={"Host": HOST})
        assert plain.status_code == 301
        assert plain.headers["location"] == f"https://{HOST}/admin/login/"

        health = client.get("/api/health/", headers={"Host": HOST})
        assert (health.status_code, health.json()) == (200, {"status": "ok"})

        page = client.get("/admin/login/", headers=PROXIED)
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        csrf_cookie = next(c for c in page.headers.get_list("set-cookie") if "csrftoken" in c)
        assert "secure" in csrf_cookie.lower()

        stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
        assert stylesheet, "the admin page links a content-hashed stylesheet"
        css = client.get(stylesheet.group(1), headers=PROXIED)
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert "immutable" in css.headers["cache-control"]

        assert client.get("/admin/login/", headers={"Host": "evil.example"}).status_code == 400


def _database_options(**env: str) -> dict:
    """The default database's OPTIONS as the settings build them from `env`."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {}), default=str))"
    )
    own = ("DJANGO_", "ALEPH_", "DATABASE_URL", "REDIS_URL")
    base = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    result = run("-c", script, env={**base, "DJANGO_SETTINGS_MODULE": "aleph_site.settings", **env})
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_pools_connections_unless_told_not_to():
    """The documented variables alone give the fast, safe configuration: a connection
    pool on PostgreSQL; ALEPH_DB_POOL=0 turns it off for a pooler in front."""
    url = "postgres://app@db.example:5432/arena"
    assert _database_options(DATABASE_URL=url)["pool"] == {"min_size": 2, "max_size": 20}
    assert "pool" not in _database_options(DATABASE_URL=url, ALEPH_DB_POOL="0")
    assert _database_options(DATABASE_URL=url, ALEPH_DB_POOL_SIZE="8")["pool"]["max_size"] == 8


def test_sqlite_keeps_idle_connections_unless_told_not_to():
    """On SQLite the same variables keep up to ALEPH_DB_POOL_SIZE idle connections per
    process (aleph_site/sqlite); ALEPH_DB_POOL=0 opens one per request."""
    url = "sqlite:////tmp/x.sqlite3"
    assert _database_options(DATABASE_URL=url)["pool"] == {"max_idle": 20}
    assert "pool" not in _database_options(DATABASE_URL=url, ALEPH_DB_POOL="0")
    # The default database file (no DATABASE_URL), as `make run` serves it.
    assert _database_options(ALEPH_DB_POOL_SIZE="8")["pool"] == {"max_idle": 8}


def test_passwords_are_hashed_with_djangos_default_hasher():
    """The suite's fast hasher (tests/settings.py) is the suite's alone."""
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PASSWORD_HASHERS[0])"
    )
    env = {**production_env(), "DJANGO_SETTINGS_MODULE": "aleph_site.settings"}
    result = run("-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
