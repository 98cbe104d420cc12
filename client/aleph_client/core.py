"""The client's logic, written once for the blocking and the asyncio client.

Everything the client does (a request with its retries, following pages, the live feed,
the worker loop) is a *program*: a generator that yields *effects* (send this request,
sleep, open a websocket, receive a message, run a step) and is sent back their results, or
has their exceptions thrown into it. A program does no I/O. `ArenaClient` performs the
effects with blocking calls (`Runner`, client.py), `AsyncArenaClient` with asyncio
(`AsyncRunner`, aio.py): a few lines per effect, so the two clients cannot drift apart.
client/README.md, "How the client is built", walks through it.
"""

from __future__ import annotations

import inspect
import json
import random
import re
import typing
import uuid
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload
from urllib.parse import quote

import httpx

from .errors import ArenaError, Unreachable, error_from_response, retry_after

if TYPE_CHECKING:
    from .aio import AsyncArenaClient
    from .api import Api
    from .client import ArenaClient

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
P = ParamSpec("P")

# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """An HTTP request; the result is the `httpx.Response` (its body read)."""

    method: str
    url: str
    params: dict[str, Any] | None
    content: bytes | None
    headers: dict[str, str]

    def arguments(self) -> dict[str, Any]:
        """The arguments of `httpx.Client.request` (and of `httpx.AsyncClient.request`)."""
        return {
            "method": self.method,
            "url": self.url,
            "params": self.params,
            "content": self.content,
            "headers": self.headers,
        }


@dataclass(frozen=True)
class Sleep:
    """Wait; a runner closed meanwhile ends the wait (and the program) with Stopped."""

    seconds: float


@dataclass(frozen=True)
class Connect:
    """Open a websocket; the result is the connection, to name in Receive and Disconnect."""

    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Receive:
    """The next message of a websocket; TimeoutError after `timeout` seconds (None: wait),
    `websockets.ConnectionClosed` when it closes."""

    socket: Any
    timeout: float | None


@dataclass(frozen=True)
class Disconnect:
    """Close a websocket that Connect opened (one that is closed already is fine)."""

    socket: Any


@dataclass(frozen=True)
class Emit:
    """A stream's next item (feeds and page iterators are programs that emit)."""

    value: Any


@dataclass(frozen=True)
class RunStep:
    """Call the caller's `do_step(item)` while `renewal` runs beside it; the result is
    what `do_step` returns. The renewal program is abandoned when `do_step` returns."""

    do_step: Callable[[Any], Any]
    item: Any
    renewal: Generator[Any, Any, None]


Effect = Send | Sleep | Connect | Receive | Disconnect | Emit | RunStep
Program = Generator[Effect, Any, T]

# Options of the feed's websocket, for both websocket clients.
SOCKET_OPTIONS: dict[str, Any] = {
    "open_timeout": 10,
    "close_timeout": 5,
    "ping_interval": 20,
    "ping_timeout": 20,
    "max_size": 2**24,
}


class Stopped(BaseException):
    """The runner was closed: the program it ran is abandoned where it stands.

    A BaseException, so that no program's `except Exception` can swallow it."""


class Driver(Generic[T]):
    """Steps one program: `effect` is what it waits for; once `finished`, `value` is what
    it returned. A runner performs each effect and settles the driver with the outcome."""

    def __init__(self, program: Program[T]) -> None:
        self._program = program
        self.effect: Effect | None = None
        self.value: T | None = None
        self.finished = False
        self._taken = False
        self._advance(lambda: next(program))

    @property
    def busy(self) -> bool:
        """Waiting for an effect to be performed (not finished, not holding an item)."""
        return not self.finished and not isinstance(self.effect, Emit)

    def settle(self, value: Any = None, error: Exception | None = None) -> None:
        if error is not None:
            self._advance(lambda: self._program.throw(error))
        else:
            self._advance(lambda: self._program.send(value))

    def take(self) -> Any:
        """The item the program emits; it goes on from there at `resume()`."""
        assert isinstance(self.effect, Emit)
        self._taken = True
        return self.effect.value

    def resume(self) -> None:
        """Go on from the item taken last, if any (a stream's next item)."""
        if self._taken:
            self._taken = False
            self.settle()

    def _advance(self, step: Callable[[], Effect]) -> None:
        try:
            self.effect = step()
        except StopIteration as done:
            self.finished, self.effect, self.value = True, None, done.value


# --- retries ---------------------------------------------------------------------------------

# A POST carries an Idempotency-Key made once per call, so the server applies it once
# however often it is sent; a GET changes nothing. PATCH and DELETE are repeated only when
# they surely never reached the server.
REPEATABLE_METHODS = frozenset({"GET", "POST"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
LOST_ON_THE_WAY = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
GATEWAY_STATUSES = frozenset({502, 503, 504})
# This server's 503: a transient database failure, nothing applied.
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Retry:
    """How a request that fails is tried again.

    Connection failures, 502/503/504 and 409 `idempotency_in_progress` wait an exponential
    backoff with jitter (`backoff` doubling up to `max_backoff`, each delay drawn from its
    upper half); a 429 waits its `Retry-After`, unless that is over `max_retry_after`
    (then `Throttled` is raised at once). A 503 `unavailable` (the server applied nothing)
    waits its `Retry-After` and is retried whatever the method. `attempts` counts every
    try, the first included: `Retry(attempts=1)` never retries."""

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retry: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def after_failure(self, method: str, failure: httpx.TransportError, retry: int) -> float | None:
        """Seconds to wait before sending again after a connection failure, or None."""
        sent_maybe = not isinstance(failure, NOT_SENT)
        if sent_maybe and not (
            method in REPEATABLE_METHODS and isinstance(failure, LOST_ON_THE_WAY)
        ):
            return None
        return self.delay(retry)

    def after_response(self, method: str, response: httpx.Response, retry: int) -> float | None:
        """Seconds to wait before sending again after this answer, or None."""
        status = response.status_code
        if status == 429:
            wait = retry_after(response)
            if wait is None:
                return self.delay(retry)
            return None if wait > self.max_retry_after else wait + random.uniform(0, 0.1)
        if status == 503 and error_code(response) == UNAVAILABLE:
            # The server applied nothing (its database failed for a moment): any method may
            # be sent again, after its Retry-After.
            wait = retry_after(response)
            if wait is None or wait > self.max_retry_after:
                return self.delay(retry)
            return wait + random.uniform(0, 0.1)
        if method in REPEATABLE_METHODS and status in GATEWAY_STATUSES:
            return self.delay(retry)
        if method == "POST" and status == 409 and error_code(response) == "idempotency_in_progress":
            return self.delay(retry)
        return None


def error_code(response: httpx.Response) -> str | None:
    try:
        return response.json().get("error")
    except (ValueError, AttributeError):
        return None


def request(
    retry: Retry,
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Program[Any]:
    """One call of the API: its decoded JSON answer (None for 204), or an ArenaError.

    A POST gets one Idempotency-Key for all its attempts, and the body is encoded once, so
    every attempt is the same request and the server applies it at most once."""
    headers = dict(headers or {})
    content = None
    if body is not None:
        content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
        headers["Content-Type"] = "application/json"
    if method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    send = Send(method, url, params, content, headers)
    retries = 0
    while True:
        last = retries + 1 >= retry.attempts
        try:
            response = yield send
        except httpx.TransportError as failure:
            wait = None if last else retry.after_failure(method, failure, retries)
            if wait is None:
                detail = f"{method} {url}: {type(failure).__name__}: {failure}"
                raise Unreachable("unreachable", None, detail) from failure
        else:
            if response.is_success:
                return decoded(response)
            wait = None if last else retry.after_response(method, response, retries)
            if wait is None:
                raise error_from_response(response)
        retries += 1
        yield Sleep(wait)


def decoded(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ArenaError(
            "bad_response", response.status_code, "The answer is not JSON.", {}
        ) from None


# --- operations: one definition, two clients --------------------------------------------------


class SyncMethod(Protocol[P, R_co]):
    """An operation on ArenaClient: calling it returns the result."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def program(self, *args: P.args, **kwargs: P.kwargs) -> Program[R_co]: ...


class AsyncMethod(Protocol[P, R_co]):
    """An operation on AsyncArenaClient: calling it returns a coroutine of the result."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R_co]: ...

    def program(self, *args: P.args, **kwargs: P.kwargs) -> Program[R_co]: ...


class ProgramMethod(Protocol[P, R_co]):
    """An operation seen from another program of `Api`: its program is what counts."""

    def program(self, *args: P.args, **kwargs: P.kwargs) -> Program[R_co]: ...


class Operation(Generic[P, R]):
    """A method of both clients, defined once as a program.

    On an `ArenaClient` calling it runs the program and returns its result; on an
    `AsyncArenaClient` it returns a coroutine. `.program(...)` is the program itself, for
    other programs to `yield from`."""

    def __init__(self, make: Callable[Concatenate[Any, P], Program[R]]) -> None:
        self.make = make
        self.__name__: str = make.__name__
        self.__doc__ = make.__doc__
        self.__wrapped__: Callable[..., Any] = make

    @overload
    def __get__(self, client: None, owner: type) -> Operation[P, R]: ...

    @overload
    def __get__(self, client: ArenaClient, owner: type) -> SyncMethod[P, R]: ...

    @overload
    def __get__(self, client: AsyncArenaClient, owner: type) -> AsyncMethod[P, R]: ...

    @overload
    def __get__(self, client: Api, owner: type) -> ProgramMethod[P, R]: ...

    def __get__(self, client: Any, owner: type) -> Any:
        return self if client is None else Bound(client, self)

    def describe(self, client: Any) -> str:
        """How a traceback names a call of this operation on `client`."""
        return f"{type(client).__name__}.{self.__name__}()"


class Bound:
    """An operation bound to a client (see Operation)."""

    def __init__(self, client: Any, operation: Operation[Any, Any]) -> None:
        self._client = client
        self._operation = operation
        self.__name__ = operation.__name__
        self.__doc__ = operation.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client._run(self.program(*args, **kwargs))

    def program(self, *args: Any, **kwargs: Any) -> Program[Any]:
        note = f"raised by {self._operation.describe(self._client)}"
        return noted(self._operation.make(self._client, *args, **kwargs), note)


def noted(program: Program[T], note: str) -> Program[T]:
    """`program`, adding `note` to an exception that leaves it. The runners step programs
    from a loop, so a traceback shows the runner's frames and the program's, not which
    method was called: the notes name it, and the operations it went through (innermost
    first), under the traceback (`add_note`; the exception, its message and its type are
    unchanged)."""
    try:
        return (yield from program)
    except Exception as error:
        error.add_note(note)
        raise


def operation(make: Callable[Concatenate[Any, P], Program[R]]) -> Operation[P, R]:
    """Decorate a program-making method of `Api` as a method of both clients."""
    return Operation(make)


@dataclass(frozen=True)
class Header:
    """Marks a parameter of an endpoint sent as this HTTP header (in `Annotated`)."""

    name: str


class Endpoint(Operation[P, R]):
    """One REST operation: its method, path and result types by status, and the stub
    whose signature it takes. Parameters named in the path fill it; one marked with a
    `Header` is that header; the others are query parameters (GET, DELETE) or the JSON
    body's fields (POST, PATCH), left out when None. The stub's return annotation is the
    result's type (the union of `results`)."""

    def __init__(
        self,
        method: str,
        path: str,
        results: Mapping[int, Any],
        stub: Callable[..., Any],
    ) -> None:
        self.method = method
        self.path = path
        self.results = dict(results)
        self.signature = inspect.signature(stub)
        self.path_params = re.findall(r"{(\w+)}", path)
        hints = typing.get_type_hints(stub, include_extras=True)
        self.headers = {
            name: meta.name
            for name, hint in hints.items()
            for meta in getattr(hint, "__metadata__", ())
            if isinstance(meta, Header)
        }
        names = list(self.signature.parameters)[1:]
        self.fields = [n for n in names if n not in self.path_params and n not in self.headers]
        self.in_query = method in ("GET", "DELETE")
        super().__init__(self._program)
        self.__name__ = stub.__name__
        self.__doc__ = stub.__doc__
        self.__wrapped__ = stub

    def describe(self, client: Any) -> str:
        return f"{super().describe(client)}: {self.method} {self.path}"

    def _program(self, client: Any, *args: Any, **kwargs: Any) -> Program[R]:
        bound = self.signature.bind(client, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        path = self.path.format(
            **{name: quote(str(values[name]), safe="") for name in self.path_params}
        )
        headers = {
            header: str(values[name])
            for name, header in self.headers.items()
            if values[name] is not None
        }
        fields = {name: values[name] for name in self.fields if values[name] is not None}
        return request(
            client.retry,
            self.method,
            path,
            params=fields if self.in_query and fields else None,
            body=fields if not self.in_query and fields else None,
            headers=headers,
        )


def endpoint(
    method: str, path: str, results: Mapping[int, Any]
) -> Callable[[Callable[Concatenate[Any, P], R]], Endpoint[P, R]]:
    """Decorate a stub (its signature, return annotation and docstring) as a REST
    operation of both clients; `results` are the result's types by status (None: no body)."""

    def decorate(stub: Callable[Concatenate[Any, P], R]) -> Endpoint[P, R]:
        return Endpoint(method, path, results, stub)

    return decorate
