"""Django's ASGI handler, as `aleph_site/asgi.py` serves HTTP with it."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware chain and the view run in one hand-over to
    the request's thread.

    Django builds the chain around its asynchronous core (`_get_response_async`) when served
    over ASGI. Every view here (DRF's, the dashboard's, the admin's) is synchronous, and so is
    WhiteNoise, so a request then crossed between the event loop and its thread three times:
    into the thread for the middleware, back to the loop for the core, into the thread again
    for the view. Built around the synchronous core instead, the whole chain runs in the
    thread in one go (an asynchronous view would still be served, through `async_to_sync`).
    A step completion under Daphne costs less CPU by this (docs/performance.md)."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        if is_async:
            self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
