"""`ArenaClient`: the blocking client, and the runner that performs effects with blocking I/O."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any, Generic, Self, TypeVar

import httpx
from websockets.sync.client import ClientConnection, connect

from . import core
from .api import Api
from .core import Driver, Program, Stopped
from .feed import FeedCursor, FeedView
from .types import Event, Page

T = TypeVar("T")


class Runner:
    """Runs programs with blocking I/O on the calling thread. `close()` (from any thread)
    stops them: a sleep ends, the websockets it opened close, and the program is
    abandoned with `Stopped`."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.stopped = threading.Event()
        self.sockets: set[ClientConnection] = set()
        self.sockets_lock = threading.Lock()  # close() may come from another thread

    def run(self, program: Program[T]) -> T:
        driver = Driver(program)
        try:
            self.drive(driver)
        finally:
            self.close()
        return driver.value  # type: ignore[return-value]

    def drive(self, driver: Driver[Any]) -> None:
        """Perform the driver's effects until its program finishes or emits an item."""
        while driver.busy:
            try:
                value = self.perform(driver.effect)
            except Exception as error:
                driver.settle(error=error)
            else:
                driver.settle(value)

    def close(self) -> None:
        self.stopped.set()
        with self.sockets_lock:
            sockets = list(self.sockets)
        for socket in sockets:
            socket.close()

    def perform(self, effect: core.Effect | None) -> Any:
        if self.stopped.is_set():
            raise Stopped
        match effect:
            case core.Send():
                return self.http.request(**effect.arguments())
            case core.Sleep():
                if self.stopped.wait(effect.seconds):
                    raise Stopped
                return None
            case core.Connect():
                # Entered as a context manager (what websockets asks for), closed by
                # Disconnect or close().
                socket = connect(
                    effect.url, additional_headers=effect.headers, **core.SOCKET_OPTIONS
                ).__enter__()
                with self.sockets_lock:
                    self.sockets.add(socket)
                if self.stopped.is_set():
                    socket.close()
                return socket
            case core.Receive():
                return effect.socket.recv(effect.timeout)
            case core.Disconnect():
                with self.sockets_lock:
                    self.sockets.discard(effect.socket)
                effect.socket.close()
                return None
            case core.RunStep():
                return self.run_step(effect)
        raise TypeError(f"not an effect: {effect!r}")

    def run_step(self, effect: core.RunStep) -> Any:
        """`do_step` on this thread, the renewal on another until `do_step` returns."""
        renewer = Runner(self.http)
        thread = threading.Thread(target=renewer.run_until_stopped, args=(effect.renewal,))
        thread.start()
        try:
            return effect.do_step(effect.item)
        finally:
            renewer.close()
            thread.join()

    def run_until_stopped(self, program: Program[Any]) -> None:
        with contextlib.suppress(Stopped):
            self.run(program)


class Closing:
    """`with` closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Stream(Closing, Generic[T]):
    """An iterator over what a program emits (`with` closes it; so does `close()`, also
    from another thread, which ends the iteration)."""

    def __init__(self, runner: Runner, program: Program[None]) -> None:
        self._runner = runner
        self._driver = Driver(program)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        driver = self._driver
        driver.resume()
        try:
            self._runner.drive(driver)
        except Stopped:
            raise StopIteration from None
        if driver.finished:
            self.close()
            raise StopIteration
        return driver.take()

    def close(self) -> None:
        self._runner.close()


class Feed(FeedView, Stream[Event]):
    """An arena's events, each once and in `seq` order, across reconnections; `snapshot`
    and `last_seq` show where it stands."""


class ArenaClient(Closing, Api):
    """The blocking client of Aleph Arena. Every operation of the API is a method (see
    `Api`); `feed()` follows an arena live and `work()` is a worker loop.

        with ArenaClient("http://127.0.0.1:8000", token) as client:
            print(client.whoami()["agent_id"])

    `retry` sets how failed requests are tried again; `transport` is an
    `httpx.BaseTransport` to send the requests through (for tests and proxies)."""

    http_class = httpx.Client
    http: httpx.Client

    def _run(self, program: Program[T]) -> T:
        return Runner(self.http).run(program)

    def all(self, page: Page[T]) -> Stream[T]:
        """Every item of a list: those of `page` and of the pages after it."""
        return Stream(Runner(self.http), self.pages(page))

    def feed(self, arena_id: str, after: int | None = 0) -> Feed:
        """The arena's events after `after` (0: from the first; None: from now on)."""
        return Feed(Runner(self.http), FeedCursor(self, arena_id, after))

    def close(self) -> None:
        self.http.close()
