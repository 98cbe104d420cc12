"""JSON in, JSON out: the body size limit and the content negotiation of the agent API.

Parsing itself is DRF's `JSONParser` (settings.REST_FRAMEWORK): malformed JSON and invalid
UTF-8 become 400 `invalid`, another media type 415 `unsupported_media_type`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from .errors import PayloadTooLarge


def read_body(request: Request) -> bytes:
    """The raw request body, or 413 `payload_too_large` when it exceeds
    `settings.ALEPH_MAX_BODY_BYTES` (declared or actual size). Reading it here first lets
    DRF parse it afterwards from the cached bytes."""
    limit = settings.ALEPH_MAX_BODY_BYTES
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        body = request._request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks JSON whatever `Accept` says: a client never gets 406 for asking
    for something else."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type
