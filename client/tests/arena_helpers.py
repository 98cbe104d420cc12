"""Helpers of the client's tests: the async client driven from blocking test code, and
httpx transports that misbehave in one chosen way."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aleph_client import ArenaError, AsyncArenaClient, AsyncStream


def raised(call: Callable[[], Any]) -> ArenaError:
    """The ArenaError that `call()` raises."""
    with pytest.raises(ArenaError) as caught:
        call()
    return caught.value


class Blocking:
    """An AsyncArenaClient whose coroutines run to completion on a loop of their own, so
    that one test scenario exercises both clients. Streams come back as lists."""

    def __init__(self, client: AsyncArenaClient, loop: asyncio.Runner) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if isinstance(result, AsyncStream):
                return self._loop.run(collect(result))
            return self._loop.run(result) if inspect.isawaitable(result) else result

        return call

    def close(self) -> None:
        self._loop.run(self._client.close())


async def collect(stream: AsyncStream[Any]) -> list[Any]:
    return [item async for item in stream]


class Forwarding(httpx.BaseTransport):
    """Sends each request through a real transport; `on_response(request, response)` may
    replace the response or raise instead of returning it. Records every request."""

    def __init__(
        self, on_response: Callable[[httpx.Request, httpx.Response], httpx.Response] | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.on_response = on_response
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.inner.handle_request(request)
        try:
            answer.read()
        finally:
            answer.close()
        response = httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )
        return self.on_response(request, response) if self.on_response else response

    def close(self) -> None:
        self.inner.close()


class AsyncForwarding(Forwarding, httpx.AsyncBaseTransport):
    """Forwarding for the async client (each request sent from a thread)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await asyncio.to_thread(self.handle_request, request)

    async def aclose(self) -> None:
        self.close()


def drop_first_response(method: str, path_end: str) -> Callable[..., httpx.Response]:
    """An on_response that loses the answer to the first matching request after the server
    has handled it: the connection 'breaks' on the way back."""
    dropped: list[httpx.Request] = []

    def on_response(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method == method and request.url.path.endswith(path_end) and not dropped:
            dropped.append(request)
            raise httpx.ReadError("connection reset on the way back", request=request)
        return response

    return on_response


class Cutter:
    """A TCP proxy in front of a local port whose open connections can be cut at any time:
    a network failure for the clients that connect through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open += [downstream, upstream]
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def wait_for_connections(self, count: int, timeout: float = 30) -> None:
        """Until `count` connections in all have been made through the proxy."""
        deadline = time.monotonic() + timeout
        while self.connections < count:
            assert time.monotonic() < deadline, f"{self.connections} connections, not {count}"
            time.sleep(0.01)

    def cut(self) -> None:
        """Break every open connection at once: both sides see the TCP connection end
        without a websocket closing handshake."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()
