"""`manage.py demo` against a real server: it plays its arenas to the archive over HTTP,
gives a working staff login, answers the person in the loop, and stops cleanly."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from contextlib import closing

import httpx
import pytest

from tests.support.liveserver import PYTHON, ROOT, free_port

from .conftest import STAFF_USERNAME

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEMO_GOALS = (
    "Write a field guide to the birds of the Tagus estuary",
    "Choose a caching strategy for the image service",
    "Plan the team offsite (activate me from the dashboard)",
)


def password_in(output: str) -> str:
    return re.search(r"Password:\s+(\S+)", output).group(1)


def post_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data={**data, "csrfmiddlewaretoken": client.cookies["csrftoken"]})


class Demo:
    """`manage.py demo` running in the background, its output read line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "demo", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """The first line printed so far, or from now on, that holds `text`."""
        for line in self.output:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None or not self.lines.empty(), (
                    f"demo exited before printing {text!r}:\n{''.join(self.output)}"
                )
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"demo did not print {text!r}:\n{''.join(self.output)}")

    def finish(self, timeout: float = 120.0) -> int:
        code = self.process.wait(timeout=timeout)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_demo_plays_its_arenas_to_the_archive_and_prints_a_working_login(live_db, live_server):
    output = live_db.manage("demo", "--url", live_server.url, "--pace", "0", "--once")

    for goal in DEMO_GOALS:
        assert f"demo-lead created the arena “{goal}”" in output
    assert output.count("moved the arena to archived") == 3
    with closing(live_server.signed_in("demo", password_in(output))) as dashboard:
        archived = dashboard.get("/?status=archived").text
        arenas = dashboard.get("/api/arenas/?status=archived").json()["results"]
    assert all(goal in archived for goal in DEMO_GOALS)
    assert sorted(a["goal"] for a in arenas) == sorted(DEMO_GOALS)
    assert all(a["completed_steps"] == a["total_steps"] for a in arenas)
    live_db.manage("verify_arenas")


def test_running_the_demo_again_resets_the_password_and_keeps_one_user(live_db, live_server):
    first = live_db.manage("demo", "--url", live_server.url, "--pace", "0", "--once")
    second = live_db.manage("demo", "--url", live_server.url, "--pace", "0", "--once")

    assert password_in(first) != password_in(second)
    count = live_db.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "print(User.objects.filter(username='demo', is_staff=True).count())",
    )
    assert count.strip().splitlines()[-1] == "1"
    with pytest.raises(RuntimeError):
        live_server.signed_in("demo", password_in(first))
    live_server.signed_in("demo", password_in(second)).close()


def test_demo_says_clearly_when_no_server_answers(live_db):
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(RuntimeError) as failure:
        live_db.manage("demo", "--url", url, "--wait", "0", "--once")

    assert f"No Aleph Arena server answers at {url}" in str(failure.value)
    assert "make run" in str(failure.value)
    assert "Traceback" not in str(failure.value)


def test_demo_answers_a_person_who_activates_its_waiting_arena_and_writes(
    live_db, live_server, staff
):
    demo = Demo(live_db.env(), "--url", live_server.url, "--pace", "0.5", "--once")
    try:
        demo.wait_for("offsite] demo-lead created the arena")
        with closing(live_server.signed_in(*staff)) as dashboard:
            [waiting] = [
                a
                for a in dashboard.get("/api/arenas/?status=created").json()["results"]
                if a["goal"] == DEMO_GOALS[2]
            ]
            path = f"/arenas/{waiting['id']}/"
            post_form(dashboard, path + "transition/", {"action": "activate"})
            post_form(dashboard, path + "messages/", {"text": "Book the lake house."})

        demo.wait_for("Activated: thank you!")
        demo.wait_for(f"Thanks, {STAFF_USERNAME}: noted")
        assert demo.finish() == 0
    finally:
        demo.stop()
    assert "Nobody came by" not in "".join(demo.output)


def test_ctrl_c_stops_the_demo_cleanly(live_db, live_server):
    demo = Demo(live_db.env(), "--url", live_server.url, "--pace", "0.5")
    try:
        demo.wait_for("created the arena")
        demo.process.send_signal(signal.SIGINT)
        code = demo.finish(timeout=30)
    finally:
        demo.stop()

    output = "".join(demo.output)
    assert code == 0, output
    assert "Demo stopped." in output and "Traceback" not in output


def test_demo_refuses_a_server_with_another_database(live_db, live_server, tmp_path):
    other = {**live_db.env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=other,
        check=True,
        capture_output=True,
    )

    result = subprocess.run(
        [PYTHON, "manage.py", "demo", "--url", live_server.url, "--once"],
        cwd=ROOT,
        env=other,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "uses another database" in result.stderr, result.stderr
    assert "created the arena" not in result.stdout
