"""`make run` with its port taken says so and stops, before it prints where it serves."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from tests.support.liveserver import ROOT

pytestmark = [pytest.mark.timeout(120)]


def test_make_run_on_a_taken_port_fails_before_its_banner():
    if shutil.which("make") is None:
        pytest.skip("needs make")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is taken" in result.stdout
    assert "make run PORT=8001" in result.stdout
    assert "Aleph Arena on" not in result.stdout and "migrate" not in result.stdout
