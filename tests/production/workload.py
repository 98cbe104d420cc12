"""The concurrent workloads of the production tests, shared by the domain and REST variants.

`THREADS` writers each complete `PER_THREAD` steps at once (the numbers of issue 6), and
`run_threads` releases them together and fails instead of hanging when one never finishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

THREADS = 16
PER_THREAD = 50
ARENAS = 4
# A writer still running after this long is stuck (a deadlock), not slow.
JOIN_TIMEOUT_SECONDS = 300.0


def own_steps(thread: int, per_thread: int = PER_THREAD) -> list[int]:
    """The steps only `thread` completes: each step of the plan has exactly one writer."""
    return [thread * per_thread + k + 1 for k in range(per_thread)]


def spread(
    threads: int = THREADS, per_thread: int = PER_THREAD, arenas: int = ARENAS
) -> list[list[tuple[int, int]]]:
    """Each thread's `(arena index, step)` writes over several arenas: every thread moves
    to the next arena at every write, so writers of different arenas interleave all the
    time, and every step of every arena is completed at most once."""
    return [
        [((thread + k) % arenas, step) for k, step in enumerate(own_steps(thread, per_thread))]
        for thread in range(threads)
    ]


def run_threads(bodies: list[Callable[[], None]]) -> None:
    """Run each body in a thread of its own, all released at the same moment.

    Raises the first failure of any body (with how many failed), or AssertionError naming
    the bodies still running after JOIN_TIMEOUT_SECONDS."""
    start = threading.Barrier(len(bodies))
    failures: list[BaseException] = []

    def run(body: Callable[[], None]) -> None:
        try:
            start.wait()
            body()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_SECONDS)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"writers still running after {JOIN_TIMEOUT_SECONDS}s: {stuck}"
    if failures:
        raise AssertionError(f"{len(failures)} of {len(bodies)} writers failed") from failures[0]
