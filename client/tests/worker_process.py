"""One worker agent as a process of its own, for the tests of `work()` that kill one:

    python worker_process.py URL TOKEN ARENA_ID LEASE_SECONDS STEP_SECONDS

It prints `started <step>` when it begins a step, then its report as JSON on the last line.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from aleph_client import ArenaClient, ClaimedStep


def main(url: str, token: str, arena_id: str, lease: str, seconds: str) -> None:
    def do_step(step: ClaimedStep) -> str:
        print(f"started {step.step}", flush=True)
        time.sleep(float(seconds))
        return f"step {step.step} done"

    with ArenaClient(url, token) as client:
        report = client.work(arena_id, do_step, lease_seconds=int(lease), wait_seconds=5)
    print(json.dumps(dataclasses.asdict(report)), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
