"""The API's one error format, `{"error", "detail"[, "fields"]}`, for every refusal.

`exception_handler` (DRF's EXCEPTION_HANDLER) maps the domain's errors, DRF's own exceptions
and the few Django ones a view can raise. `ApiJsonErrorsMiddleware` (middleware.py) covers
what happens outside a DRF view (unknown paths, server errors), so no HTML error page ever
leaves `/api/`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from arenas.doors.access import NO_TOKEN, error_body
from arenas.doors.rates import retry_after
from arenas.errors import DomainError, Invalid, unavailable

NON_FIELD = "non_field_errors"

# The code for each status where nothing more specific is known.
CODE_FOR_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled",
}

# DRF's exceptions whose code differs from the status-derived one.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "invalid",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


class ApiError(exceptions.APIException):
    """A refusal made by the API layer itself (not the domain); `default_code` is the
    error code."""


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class IdempotencyKeyReused(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used with a different request; use a new key."
    )


class IdempotencyInProgress(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry shortly "
        "to get its response."
    )


def code_for_status(status_code: int) -> str:
    if status_code >= 500:
        return "server_error"
    return CODE_FOR_STATUS.get(status_code, "invalid")


def domain_error_response(exc: DomainError) -> Response:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(exc.as_dict(), status=exc.status, headers=headers)


def flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as `{"plan[1].title": ["message"], ...}`, the same
    field naming the domain uses."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == NON_FIELD:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            _merge(out, flatten_fields(value, name))
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            if item:
                _merge(out, flatten_fields(item, f"{prefix}[{index}]"))
    elif isinstance(detail, list):
        out[prefix or NON_FIELD] = [str(item) for item in detail]
    else:
        out[prefix or NON_FIELD] = [str(detail)]
    return out


def _merge(into: dict[str, list[str]], other: dict[str, list[str]]) -> None:
    for name, messages in other.items():
        into.setdefault(name, []).extend(messages)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error as the error JSON (a transient database
    failure as 503 `unavailable` with `Retry-After`). Unknown exceptions return None, so DRF
    re-raises them and the middleware answers a JSON 500."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if (down := unavailable(exc)) is not None:
        return domain_error_response(down)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied", str(exc) or "Permission denied."), 403)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, exceptions.ValidationError):
        invalid = Invalid(flatten_fields(exc.detail))
        return Response(invalid.as_dict(), status=400)
    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(retry_after(exc.wait))
    if isinstance(exc, ApiError):
        code = exc.default_code
    else:
        code = next(
            (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)),
            code_for_status(exc.status_code),
        )
    # DRF answers 403 for a failed authentication that has no challenge to offer.
    if exc.status_code == 403 and code == "not_authenticated":
        code = "permission_denied"
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, exceptions.NotAuthenticated):
        detail = NO_TOKEN
    return Response(error_body(code, str(detail)), status=exc.status_code, headers=headers)
