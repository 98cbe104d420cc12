"""JSON in, JSON out: the body size limit, the parser and the content negotiation of the
agent API.

Malformed JSON, invalid UTF-8, NaN/Infinity and JSON nested too deeply for the parser
become 400 `invalid`; another media type is 415 `unsupported_media_type` (DRF).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from .errors import PayloadTooLarge


def read_body(request: Request) -> bytes:
    """The raw request body, or 413 `payload_too_large` when it exceeds
    `settings.ALEPH_MAX_BODY_BYTES` (declared or actual size). Reading it here first lets
    DRF parse it afterwards from the cached bytes.

    A body sent with `Transfer-Encoding: chunked` declares no `Content-Length`, and DRF
    takes a request without one for a request without a body: once the body is read whole,
    its length is known, and is recorded as the declared one."""
    limit = settings.ALEPH_MAX_BODY_BYTES
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        _discard_rest(request, DISCARD_BYTES)
        raise too_large
    try:
        body = request._request.body
    except RequestDataTooBig:
        _discard_rest(request, DISCARD_BYTES)
        raise too_large from None
    if len(body) > limit:
        raise too_large
    if not request.META.get("CONTENT_LENGTH"):
        request.META["CONTENT_LENGTH"] = str(len(body))
    return body


# At most this much of a refused body is read and dropped (nginx's client_max_body_size is
# 10 MiB; a bigger declared body past a proxy is cut off at this point).
DISCARD_BYTES = 16 * 1024 * 1024


def _discard_rest(request: Request, most: int) -> None:
    """Read and drop what is left of a refused body, up to `most` bytes. A WSGI server that
    answers before the body was read closes the connection while a proxy may still be
    sending it, and the proxy then reports its own error (502) instead of the answer."""
    try:
        while most > 0:
            chunk = request._request.read(min(65536, most))
            if not chunk:
                return
            most -= len(chunk)
    except Exception:  # noqa: S110 - the 413 is the answer whatever happens here
        pass


class StrictJSONParser(JSONParser):
    """DRF's strict JSON parser, which also refuses JSON nested deeper than Python's
    parser can follow (a RecursionError would otherwise be a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


class ExactJSONParser(StrictJSONParser):
    """StrictJSONParser reading every number with a fraction or an exponent as a `Decimal`,
    so that money (a cost, a budget's limits) arrives exactly as it was written, never
    through a binary float."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(
                stream.read().decode(encoding),
                parse_float=Decimal,
                parse_constant=_refuse_constant,
            )
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks JSON whatever `Accept` says: a client never gets 406 for asking
    for something else."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type
