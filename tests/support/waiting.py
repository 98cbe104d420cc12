"""Waiting for the other side of a test: poll what can be observed, with a deadline.

A test that sleeps a guessed time before acting ("the call is waiting by now") passes on a
slow machine without exercising what it tests (the call had not started waiting yet), or
fails on an idle one for no reason. These poll a condition instead, and fail with what was
last seen once the deadline passes.

- `until(condition)`: until `condition()` returns a true value, which it returns.
- `eventually(check)`: until `check()` stops raising AssertionError; its value.
- `until_async` and `eventually_async`: the same on the event loop (the condition may be
  a coroutine function), sleeping with asyncio between tries so that the loop runs on.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

DEADLINE = 30.0
INTERVAL = 0.01


def _named(condition: Callable[..., Any]) -> str:
    return getattr(condition, "__qualname__", repr(condition))


def until(
    condition: Callable[[], Any], timeout: float = DEADLINE, interval: float = INTERVAL
) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {_named(condition)} (last: {value!r})")
        time.sleep(interval)
    return value


def eventually(
    check: Callable[[], Any], timeout: float = DEADLINE, interval: float = INTERVAL
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


async def _value(condition: Callable[[], Any]) -> Any:
    value = condition()
    return await value if inspect.isawaitable(value) else value


async def until_async(
    condition: Callable[[], Any], timeout: float = DEADLINE, interval: float = INTERVAL
) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await _value(condition)):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {_named(condition)} (last: {value!r})")
        await asyncio.sleep(interval)
    return value


async def eventually_async(
    check: Callable[[], Any], timeout: float = DEADLINE, interval: float = INTERVAL
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await _value(check)
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(interval)
