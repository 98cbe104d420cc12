"""`Idempotency-Key` on POST: a retried request is applied once and answered again.

A record per (agent, key) holds a SHA-256 of the request (method, path with its final slash,
query and raw body) and, once known, the response. How a POST with a key runs:

1. The record is inserted first, in its own committed statement; the unique constraint makes
   exactly one concurrent request the owner of the key.
2. The owner runs the view and stores a success response in the same transaction as the
   change it made, so a change is never committed without its record (and a crash leaves
   nothing applied). A refusal by the domain (a 403, 404, 409 or a domain 400) is stored
   too. Anything decided before the domain (malformed body, input validation) releases the
   key, so a corrected request may use it again.
3. Any other request with the key: another body is 422 `idempotency_key_reused`; the same
   body gets the stored response again with `Idempotent-Replayed: true`; while the owner is
   still working it waits up to `WAIT_SECONDS` for that response, then answers 409
   `idempotency_in_progress`.

Records expire after `TTL` (24 hours): an older record counts as absent, and
`manage.py clear_idempotency` deletes them. Keys are per agent: staff sessions may send the
header (it is validated) but their requests are not recorded.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

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
POLL_SECONDS = 0.05
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


@dataclass
class Claim:
    """Ownership of one key for the request that inserted its record."""

    record: IdempotencyRecord

    def store(self, response: Response) -> None:
        IdempotencyRecord.objects.filter(pk=self.record.pk).update(
            status_code=response.status_code,
            response_body=response.data,
            response_headers={h: response[h] for h in STORED_HEADERS if h in response},
        )

    def release(self) -> None:
        IdempotencyRecord.objects.filter(pk=self.record.pk, status_code__isnull=True).delete()


def _insert(agent: Agent, key: str, request_hash: str) -> IdempotencyRecord | None:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(agent=agent, key=key, request_hash=request_hash)
    except IntegrityError:
        return None


def _replay(record: IdempotencyRecord) -> Response:
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status=record.status_code, headers=headers)


def begin(agent: Agent, key: str, request_hash: str) -> Claim | Response:
    """Own the key (a Claim), or the response a request with it already got."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = _insert(agent, key, request_hash)
        if record is not None:
            return Claim(record)
        existing = IdempotencyRecord.objects.filter(agent=agent, key=key).first()
        if existing is not None and existing.created_at < expired_before():
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at__lt=expired_before()
            ).delete()
            existing = None
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused()
            if existing.status_code is not None:
                return _replay(existing)
        # The owner is still working (or released the key a moment ago): look again.
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress()
        time.sleep(POLL_SECONDS)


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
        outcome = begin(agent, key, fingerprint(request))
        if isinstance(outcome, Response):
            return outcome
        try:
            with transaction.atomic():
                response = post(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    outcome.store(response)
        except DomainError as exc:
            response = domain_error_response(exc)
            outcome.store(response)
            return response
        except BaseException:
            outcome.release()
            raise
        if not 200 <= response.status_code < 300:
            outcome.release()
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
