"""WSGI entry point for the HTTP side only (the REST API, the dashboard, the admin): what
docs/deploy.md's production layout serves with granian.

Websockets and the MCP server need the ASGI application (`aleph_site.asgi`). A WSGI process
has no event loop of its own, so it starts one in a thread: announcements of committed events
ring from it, and it runs the process's claim sweep and webhook deliverer, as the first
request of an ASGI process starts them on the server's loop.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aleph_site.settings")
application = get_wsgi_application()

from arenas.events import announce_from_own_loop  # noqa: E402
from arenas.stream import sweeper  # noqa: E402
from arenas.webhooks import deliverer  # noqa: E402

_loop = announce_from_own_loop()
_loop.call_soon_threadsafe(sweeper.ensure_started)
_loop.call_soon_threadsafe(deliverer.ensure_started)
