"""Programs some tests drive (Debian's chromium, nginx, curl). On a newcomer's machine a
missing one skips its tests with the reason; in CI (`CI` set, or ALEPH_REQUIRE_SERVICES=1 as
`.ci/run` sets) it fails them, because there `.ci/run` and `make test` install them all and a
skip would hide a broken install step."""

from __future__ import annotations

import os

import pytest


def skip_or_fail_missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: this test must run here)")
    if os.environ.get("ALEPH_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (ALEPH_REQUIRE_SERVICES=1: this test must run here)")
    pytest.skip(reason)
