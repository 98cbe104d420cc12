"""Progress: one reading everywhere. The wire's fraction, and the whole percent people read,
rounded down, so that a plan shows 100% only once every step is completed."""

from __future__ import annotations

import pytest

from arenas.aggregate import ArenaAggregate, progress, progress_percent


@pytest.mark.parametrize(
    ("completed", "total", "fraction", "percent"),
    [
        (0, 10, 0.0, 0),
        (996, 1000, 0.996, 99),  # 99.6%: not yet 100
        (249, 250, 0.996, 99),
        (1, 3, 1 / 3, 33),
        (2, 3, 2 / 3, 66),
        (1000, 1000, 1.0, 100),
        (4294967294, 4294967295, 4294967294 / 4294967295, 99),
        (0, 0, 0.0, 0),  # no steps: an open plan
        (7, 0, 0.0, 0),
    ],
)
def test_progress_and_its_percent(completed, total, fraction, percent):
    assert progress(completed, total) == fraction
    assert progress_percent(completed, total) == percent
    aggregate = ArenaAggregate(completed, total, (), "active", 0)
    assert aggregate.progress == fraction
    assert aggregate.as_dict()["progress"] == fraction


def test_the_percent_never_exceeds_100():
    assert progress_percent(11, 10) == 100
