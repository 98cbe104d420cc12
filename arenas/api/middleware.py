"""No HTML error page ever leaves `/api/`.

DRF views answer their own errors through `errors.exception_handler`; what happens outside
them (a path no route matches, an exception no handler knew, a 400 from Django for a bad
Host header, DEBUG's technical pages) reaches this middleware as a non-JSON error response,
which it replaces with the error JSON of the same status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin

from arenas.errors import unavailable

from .errors import code_for_status, error_body

API_PREFIX = "/api/"
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")

_DETAIL = {
    400: "The request could not be understood.",
    404: "No API endpoint at this path.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
}


def _is_api(request: HttpRequest) -> bool:
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def as_json_error(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """`response` itself, or its JSON error equivalent for an `/api/` path."""
    if response.status_code < 400 or not _is_api(request):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    if status >= 500:
        detail = "The server failed to handle this request. It has been logged."
    else:
        detail = _DETAIL.get(status, "The request was refused.")
    replacement = JsonResponse(error_body(code_for_status(status), detail), status=status)
    for header in KEPT_HEADERS:
        if header in response:
            replacement[header] = response[header]
    return replacement


@sync_and_async_middleware
def api_json_errors(
    get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
):
    """Settings: first in MIDDLEWARE, so it sees every other middleware's answers too."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return as_json_error(request, await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            return as_json_error(request, get_response(request))

    return middleware


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A transient database failure in any Django view (the dashboard, the admin, sign-in,
    and whatever an API view did not answer itself) is 503 with `Retry-After`: the error JSON
    under `/api/`, a page elsewhere. Nothing was applied; the request may be sent again."""

    def process_exception(self, request: HttpRequest, exception: Exception):
        down = unavailable(exception)
        if down is None:
            return None
        if _is_api(request):
            response: HttpResponse = JsonResponse(down.as_dict(), status=down.status)
        else:
            # Rendered without the request: its context processors would read the database.
            response = HttpResponse(render_to_string("503.html"), status=down.status)
        response["Retry-After"] = str(down.retry_after)
        return response
