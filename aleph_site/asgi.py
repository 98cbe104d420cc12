"""ASGI entry point: HTTP goes to Django, except `/mcp` and `/mcp/...` to the MCP server
(`arenas/mcp/app.py`); websockets go to the live feed's consumers. The first request of each
event loop also starts that loop's claim sweep (`arenas/stream/sweeper.py`) and webhook
deliverer (`arenas/webhooks/deliverer.py`): Daphne sends no lifespan events to start them by.

Served by Daphne: `daphne aleph_site.asgi:application` (uvicorn and granian serve it too).
"""

import gc
import os

import django

from aleph_site.handlers import OneHopASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aleph_site.settings")
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
