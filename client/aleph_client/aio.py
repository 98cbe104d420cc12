"""`AsyncArenaClient`: the asyncio client, and the runner that performs effects with asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Any, Generic, Self, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

from . import core
from .api import Api
from .core import Driver, Program, Stopped
from .feed import FeedCursor, FeedView
from .types import Event, Page

T = TypeVar("T")


class AsyncRunner:
    """Runs programs on the event loop. `close()` stops them: a sleep ends, the
    websockets it opened close, and the program is abandoned with `Stopped`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.stopped = asyncio.Event()
        self.sockets: set[ClientConnection] = set()

    async def run(self, program: Program[T]) -> T:
        driver = Driver(program)
        try:
            await self.drive(driver)
        finally:
            await self.close()
        return driver.value  # type: ignore[return-value]

    async def drive(self, driver: Driver[Any]) -> None:
        """Perform the driver's effects until its program finishes or emits an item."""
        while driver.busy:
            try:
                value = await self.perform(driver.effect)
            except Exception as error:
                driver.settle(error=error)
            else:
                driver.settle(value)

    async def close(self) -> None:
        self.stopped.set()
        for socket in list(self.sockets):
            await socket.close()

    async def perform(self, effect: core.Effect | None) -> Any:
        if self.stopped.is_set():
            raise Stopped
        match effect:
            case core.Send():
                return await self.http.request(**effect.arguments())
            case core.Sleep():
                try:
                    await asyncio.wait_for(self.stopped.wait(), effect.seconds)
                except TimeoutError:
                    return None
                raise Stopped
            case core.Connect():
                socket = await connect(
                    effect.url, additional_headers=effect.headers, **core.SOCKET_OPTIONS
                )
                self.sockets.add(socket)
                if self.stopped.is_set():
                    await socket.close()
                return socket
            case core.Receive():
                return await asyncio.wait_for(effect.socket.recv(), effect.timeout)
            case core.Disconnect():
                self.sockets.discard(effect.socket)
                await effect.socket.close()
                return None
            case core.RunStep():
                return await self.run_step(effect)
        raise TypeError(f"not an effect: {effect!r}")

    async def run_step(self, effect: core.RunStep) -> Any:
        """`do_step` (awaited, or in a thread when it is not a coroutine function) with the
        renewal as a task beside it until it returns."""
        renewer = AsyncRunner(self.http)
        renewal = asyncio.create_task(renewer.run_until_stopped(effect.renewal))
        try:
            if inspect.iscoroutinefunction(effect.do_step):
                return await effect.do_step(effect.item)
            return await asyncio.to_thread(effect.do_step, effect.item)
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)

    async def run_until_stopped(self, program: Program[Any]) -> None:
        with contextlib.suppress(Stopped):
            await self.run(program)


class AsyncClosing:
    """`async with` closes it."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncStream(AsyncClosing, Generic[T]):
    """An async iterator over what a program emits (`async with` closes it; so does
    `await close()`, which ends the iteration)."""

    def __init__(self, runner: AsyncRunner, program: Program[None]) -> None:
        self._runner = runner
        self._driver = Driver(program)

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        driver = self._driver
        driver.resume()
        try:
            await self._runner.drive(driver)
        except Stopped:
            raise StopAsyncIteration from None
        if driver.finished:
            await self.close()
            raise StopAsyncIteration
        return driver.take()

    async def close(self) -> None:
        await self._runner.close()


class AsyncFeed(FeedView, AsyncStream[Event]):
    """`Feed` as an async iterator."""


class AsyncArenaClient(AsyncClosing, Api):
    """The asyncio client: the methods of `ArenaClient`, each returning a coroutine;
    `feed()` is an async iterator and `work()` a coroutine.

        async with AsyncArenaClient("http://127.0.0.1:8000", token) as client:
            print((await client.whoami())["agent_id"])

    `transport` is an `httpx.AsyncBaseTransport`."""

    http_class = httpx.AsyncClient
    http: httpx.AsyncClient

    async def _run(self, program: Program[T]) -> T:
        return await AsyncRunner(self.http).run(program)

    def all(self, page: Page[T]) -> AsyncStream[T]:
        """Every item of a list: those of `page` and of the pages after it."""
        return AsyncStream(AsyncRunner(self.http), self.pages(page))

    def feed(self, arena_id: str, after: int | None = 0) -> AsyncFeed:
        """The arena's events after `after` (0: from the first; None: from now on)."""
        return AsyncFeed(AsyncRunner(self.http), FeedCursor(self, arena_id, after))

    async def close(self) -> None:
        await self.http.aclose()
