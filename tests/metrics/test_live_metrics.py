"""`/metrics` from a live server of two Daphne processes in prometheus-client's
multi-process mode: whichever process answers a scrape, the counters add up the requests
both served, and the open websockets of a process killed without cleaning up stop counting."""

from __future__ import annotations

import glob
import os
import signal

import httpx
import pytest
from prometheus_client import multiprocess
from websockets.sync.client import connect

from tests.metrics.test_metrics import TOKEN, value
from tests.support.liveserver import LiveServer
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HEALTH = {"route": "/api/health/", "method": "GET", "status": "200"}


def scrape(server: LiveServer) -> str:
    response = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    return response.text


def served_by(directory: str, pid: int) -> float:
    """The health checks one process has counted, from its own file."""
    files = glob.glob(os.path.join(directory, f"counter_{pid}.db"))
    for metric in multiprocess.MultiProcessCollector.merge(files):
        for sample in metric.samples:
            if sample.name == "aleph_http_requests_total" and sample.labels == HEALTH:
                return sample.value
    return 0.0


def test_two_processes_add_up_and_a_dead_one_stops_counting(live_db, tmp_path):
    directory = str(tmp_path / "metrics")
    env = {"ALEPH_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": directory}
    token = live_db.create_agent("alice")
    server = LiveServer(live_db, workers=2, extra_env=env, log_path=tmp_path / "daphne.log")
    with server:
        pids = server.worker_pids()
        assert len(pids) == 2
        before = value(scrape(server), "aleph_http_requests_total", **HEALTH)
        sent = 0
        # Each request on a connection of its own: the kernel hands each to either process.
        while sent < 40 or not all(served_by(directory, pid) for pid in pids):
            assert httpx.get(f"{server.url}/api/health/", timeout=30).status_code == 200
            sent += 1
            assert sent < 400, "one process never got a request"
        for _ in range(4):  # any process answers for both
            assert value(scrape(server), "aleph_http_requests_total", **HEALTH) == before + sent
        assert sum(served_by(directory, pid) for pid in pids) == before + sent

        created = httpx.post(
            f"{server.url}/api/arenas/",
            json={"goal": "Watched", "total_steps": 1},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        with connect(
            f"{server.ws_url}/ws/arenas/{created['id']}/",
            additional_headers={"Authorization": f"Bearer {token}"},
        ) as feed:
            feed.recv(timeout=30)  # the snapshot: the feed is open
            assert value(scrape(server), "aleph_websockets_open") == 1
            text = scrape(server)
            assert value(text, "aleph_events_appended_total", type="arena_created") == 1
            assert value(text, "aleph_arenas", status="created") == 1
            assert created["id"] not in text

            # Kill the process holding the feed, with no chance to clean up: its count goes,
            # and the other process answers the scrape.
            (holder,) = [pid for pid in pids if open_feeds(directory, pid) == 1]
            os.kill(holder, signal.SIGKILL)
            until(lambda: dead(holder))  # the signal is delivered, not at once
            assert value(scrape(server), "aleph_websockets_open") == 0


def dead(pid: int) -> bool:
    """Whether the process has died (gone, or a zombie not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except FileNotFoundError:
        return True


def open_feeds(directory: str, pid: int) -> float:
    files = glob.glob(os.path.join(directory, f"gauge_livesum_{pid}.db"))
    for metric in multiprocess.MultiProcessCollector.merge(files):
        for sample in metric.samples:
            if sample.name == "aleph_websockets_open":
                return sample.value
    return 0.0
