"""ASGI entry point: HTTP goes to Django, websockets to the live feed's consumers.

Served by Daphne: `daphne aleph_site.asgi:application`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aleph_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from arenas.live import sweeper  # noqa: E402
from arenas.live.routing import websocket_application  # noqa: E402

router = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})


async def application(scope, receive, send):
    """The router, and the per-process claim sweep started by the first request (Daphne
    sends no lifespan events to start it by)."""
    if scope["type"] in ("http", "websocket"):
        sweeper.ensure_started()
    return await router(scope, receive, send)
