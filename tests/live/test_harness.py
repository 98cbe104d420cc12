"""The live-server harness itself (tests/support/liveserver.py): servers run the source tree
they are given, whatever the virtualenv has installed, and servers on a shared Redis keep to
a channel prefix that starts with the environment's ALEPH_CHANNEL_PREFIX."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from websockets.sync.client import connect

from tests.support.liveserver import ROOT, Database, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROBE_SETTINGS = '''"""Records, per process, where the served aleph_site and arenas come from."""
import os
from pathlib import Path

import aleph_site
import arenas
from aleph_site.settings import *  # noqa: F403

Path(os.environ["HARNESS_PROBE_DIR"], str(os.getpid())).write_text(
    f"{aleph_site.__file__}\\n{arenas.__file__}\\n"
)
'''
PROBE_MIGRATION = "9999_harness_probe"


@pytest.fixture(scope="module")
def other_tree(tmp_path_factory) -> Path:
    """A copy of this checkout with a settings module and a migration of its own: a server
    that starts with those settings imports the copy's aleph_site, and only a database
    migrated by the copy records the migration."""
    tree = tmp_path_factory.mktemp("other-tree")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copy2(ROOT / "manage.py", tree / "manage.py")
    for name in ("aleph_site", "arenas", "templates", "static"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    # The suite's settings module (DJANGO_SETTINGS_MODULE, which the processes inherit).
    (tree / "tests").mkdir()
    for name in ("__init__.py", "settings.py"):
        shutil.copy2(ROOT / "tests" / name, tree / "tests" / name)
    (tree / "aleph_site" / "harness_probe_settings.py").write_text(PROBE_SETTINGS)
    migrations = tree / "arenas" / "migrations"
    latest = max(p.stem for p in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    (migrations / f"{PROBE_MIGRATION}.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('arenas', '{latest}')]\n"
        "    operations = []\n"
    )
    return tree


@pytest.fixture
def other_db(other_tree, tmp_path) -> Iterator[Database]:
    database = Database.fresh(source=other_tree, directory=tmp_path)
    yield database
    database.drop()


def served_from(server: LiveServer, probes: Path) -> set[str]:
    """The files each process of `server` imported aleph_site and arenas from."""
    records = [p.read_text().split() for p in probes.iterdir()]
    assert len(records) >= server.workers, f"{len(records)} processes loaded the settings"
    return {file for record in records for file in record}


@pytest.mark.parametrize(
    ("kind", "workers"), [("daphne", 2), ("uvicorn", 2), ("granian", 2), ("granian-wsgi", 1)]
)
def test_a_server_of_another_tree_imports_that_trees_code(
    kind, workers, other_tree, other_db, tmp_path
):
    probes = tmp_path / "probes"
    probes.mkdir()
    env = {
        "DJANGO_SETTINGS_MODULE": "aleph_site.harness_probe_settings",
        "HARNESS_PROBE_DIR": str(probes),
    }
    with LiveServer(other_db, kind=kind, workers=workers, extra_env=env) as server:
        health = httpx.get(f"{server.url}/api/health/", timeout=30)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert served_from(server, probes) == {
            str(other_tree / "aleph_site" / "__init__.py"),
            str(other_tree / "arenas" / "__init__.py"),
        }
    assert f"[X] {PROBE_MIGRATION}" in other_db.manage("showmigrations", "arenas")


def test_a_server_of_another_tree_migrates_the_database_with_that_trees_migrations(
    other_tree, live_db
):
    assert PROBE_MIGRATION not in live_db.manage("showmigrations", "arenas")

    with LiveServer(live_db, source=other_tree):
        pass

    shown = live_db.python("manage.py", "showmigrations", "arenas", source=other_tree)
    assert f"[X] {PROBE_MIGRATION}" in shown


@pytest.mark.redis
def test_servers_on_redis_subscribe_under_the_environments_channel_prefix(
    redis_url, tmp_path, monkeypatch
):
    outer = f"harness-probe-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ALEPH_CHANNEL_PREFIX", outer)
    database = Database.fresh(directory=tmp_path)
    client = redis.Redis.from_url(redis_url)
    try:
        assert database.channel_prefix.startswith(outer)
        token = database.create_agent("alice")
        with LiveServer(database, redis_url=redis_url) as server:
            headers = {"Authorization": f"Bearer {token}"}
            created = httpx.post(
                f"{server.url}/api/arenas/",
                json={"goal": "Listen on a prefix", "total_steps": 1},
                headers=headers,
                timeout=30,
            )
            assert created.status_code == 201, created.text
            feed = f"{server.ws_url}/ws/arenas/{created.json()['id']}/"
            with connect(feed, additional_headers=headers, open_timeout=30) as websocket:
                assert json.loads(websocket.recv(timeout=30))["type"] == "snapshot"
                under_outer = set(client.pubsub_channels(f"{outer}*"))
                under_database = set(client.pubsub_channels(f"{database.channel_prefix}*"))
        assert under_outer, "the server subscribed to nothing under the environment's prefix"
        assert under_outer == under_database
    finally:
        client.close()
        database.drop()
