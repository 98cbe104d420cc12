"""ASGI entry point: HTTP goes to Django, except `/mcp` and `/mcp/...` to the MCP server
(`arenas/mcp/app.py`); websockets go to the live feed's consumers. The first request of each
event loop also starts that loop's claim sweep (`arenas/stream/sweeper.py`) and webhook
deliverer (`arenas/webhooks/deliverer.py`): Daphne sends no lifespan events to start them by.

Served by Daphne: `daphne aleph_site.asgi:application` (uvicorn and granian serve it too).
"""

import gc
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aleph_site.settings")


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


django.setup(set_prefix=False)
django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from arenas.live.routing import websocket_application  # noqa: E402
from arenas.mcp.app import application as mcp_application  # noqa: E402
from arenas.metrics.exposition import record_asgi_requests  # noqa: E402
from arenas.stream import sweeper  # noqa: E402
from arenas.webhooks import deliverer  # noqa: E402

MCP_PREFIX = "/mcp"
mcp_recorded = record_asgi_requests(mcp_application, "/mcp/")


async def http_application(scope, receive, send):
    """`/mcp` and `/mcp/...` to the MCP server, everything else to Django."""
    path = scope["path"]
    if path == MCP_PREFIX or path.startswith(MCP_PREFIX + "/"):
        return await mcp_recorded(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


router = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application})


async def application(scope, receive, send):
    if scope["type"] in ("http", "websocket"):
        sweeper.ensure_started()
        deliverer.ensure_started()
    return await router(scope, receive, send)


# The garbage collector, tuned for a server that holds many requests at once (a thousand
# `wait_for_events` calls woken by one commit): everything loaded so far (Django, the apps,
# the MCP SDK: most of the process's objects) lives as long as the process and is moved out
# of its sight, and a full collection, which walks every other object and stalls the event
# loop (and every request it serves) meanwhile, comes after 100 collections of the middle
# generation instead of 10. Young collections stay as they are: short and frequent.
gc.collect()
gc.freeze()
gc.set_threshold(700, 10, 100)
