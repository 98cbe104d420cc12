"""`Idempotency-Key` on POST: a retried request is applied once and answered again.

A record per (agent, key) holds a SHA-256 of the request (method, path with its final slash,
query and raw body) and, once known, the response. How a POST with a key runs:

1. One transaction holds the whole attempt: the record is inserted first, then the view runs
   and a success response is stored on the record before the commit. The unique constraint
   makes exactly one concurrent request the owner of the key; until the owner's transaction
   ends, its record is uncommitted, and another insert of the key waits for that outcome.
   So "in progress" is a lock that dies with the attempt: a request that fails mid-way, a
   connection the database dropped, a process killed outright all roll the record back with
   the change, and a retry is applied as if it were the first. A change is never committed
   without its record, so nothing is applied twice.
2. A refusal by the domain (a 403, 404, 409 or a domain 400) rolls the attempt back and is
   then stored in a transaction of its own. Anything decided before the domain (malformed
   body, input validation) stores nothing, so a corrected request may use the key again.
3. Any other request with the key: another body is 422 `idempotency_key_reused`; the same
   body gets the stored response again with `Idempotent-Replayed: true`; while the owner is
   still working it waits for the owner's outcome, on PostgreSQL up to `WAIT_SECONDS`, then
   answers 409 `idempotency_in_progress` (on SQLite, writes queue for the database's write
   lock anyway).

A record without a response committed (left by an earlier version of this module, whose
marker outlived a crash) is taken over. Records expire after `TTL` (24 hours): an older record
counts as absent, and `manage.py clear_idempotency` deletes them. Keys are per agent: staff
sessions may send the header (it is validated) but their requests are not recorded.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from arenas import sql
from arenas.errors import DomainError
from arenas.inputs import IDEMPOTENCY_KEY_MAX
from arenas.models import Agent, IdempotencyRecord

from .authentication import agent_of
from .bodies import read_body
from .errors import IdempotencyInProgress, IdempotencyKeyReused, domain_error_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = IDEMPOTENCY_KEY_MAX
TTL = timedelta(hours=24)
WAIT_SECONDS = 10.0
STORED_HEADERS = ("ETag", "Location")


def validate_key(value: str) -> str:
    """1 to KEY_MAX printable characters (no control characters: NUL cannot be stored)."""
    if not 1 <= len(value) <= KEY_MAX:
        raise exceptions.ValidationError({HEADER: [f"Must be 1 to {KEY_MAX} characters."]})
    if not value.isprintable():
        raise exceptions.ValidationError({HEADER: ["Must not hold control characters."]})
    return value


def fingerprint(request: Request) -> str:
    path = request.path if request.path.endswith("/") else request.path + "/"
    head = f"{request.method}\n{path}\n{request.META.get('QUERY_STRING', '')}\n"
    return hashlib.sha256(head.encode("utf-8", "surrogatepass") + read_body(request)).hexdigest()


def expired_before() -> Any:
    return timezone.now() - TTL


def delete_expired() -> int:
    """Delete every record older than TTL; how many were deleted."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=expired_before()).delete()
    return deleted


def _insert(agent: Agent, key: str, request_hash: str) -> IdempotencyRecord | None:
    """The new record (uncommitted: the caller's transaction holds it), or None when the key
    has a committed record; waits for another transaction that holds one."""
    try:
        with sql.lock_timeout(WAIT_SECONDS), transaction.atomic():
            return IdempotencyRecord.objects.create(agent=agent, key=key, request_hash=request_hash)
    except IntegrityError:
        return None
    except OperationalError as error:
        if sql.is_lock_timeout(error):
            raise IdempotencyInProgress() from None
        raise


def _replay(record: IdempotencyRecord) -> Response:
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status=record.status_code, headers=headers)


def begin(agent: Agent, key: str, request_hash: str) -> IdempotencyRecord | Response:
    """Within the caller's transaction: own the key (its new record), or the response a
    request with it already got."""
    while True:
        record = _insert(agent, key, request_hash)
        if record is not None:
            return record
        existing = IdempotencyRecord.objects.filter(agent=agent, key=key).first()
        if existing is None:
            continue  # deleted meanwhile (expired): insert again
        if existing.created_at < expired_before() or existing.status_code is None:
            # Expired, or a marker left behind by a dead attempt: the key is free.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at
            ).delete()
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return _replay(existing)


def store(record: IdempotencyRecord, response: Response) -> None:
    record.status_code = response.status_code
    record.response_body = response.data
    record.response_headers = {h: response[h] for h in STORED_HEADERS if h in response}
    record.save(update_fields=["status_code", "response_body", "response_headers"])


def store_refusal(agent: Agent, key: str, request_hash: str, response: Response) -> None:
    """Keep the domain's refusal for replay, in a transaction of its own (the attempt's was
    rolled back). If a retry got in first, its record stands."""
    with transaction.atomic():
        record = _insert(agent, key, request_hash)
        if record is not None:
            store(record, response)


class _NotApplied(Exception):
    """Rolls back an attempt that answered without applying anything."""

    def __init__(self, response: Response) -> None:
        self.response = response


PostHandler = Callable[..., Response]


def idempotent(post: PostHandler) -> PostHandler:
    """Decorate an APIView's `post` to honour `Idempotency-Key` (see the module's text)."""

    @functools.wraps(post)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return post(view, request, *args, **kwargs)
        validate_key(key)
        agent = agent_of(request.user)
        if agent is None:
            return post(view, request, *args, **kwargs)
        request_hash = fingerprint(request)
        try:
            with transaction.atomic():
                outcome = begin(agent, key, request_hash)
                if isinstance(outcome, Response):
                    return outcome
                response = post(view, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _NotApplied(response)
                store(outcome, response)
        except _NotApplied as not_applied:
            return not_applied.response
        except DomainError as exc:
            response = domain_error_response(exc)
            store_refusal(agent, key, request_hash, response)
            return response
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
