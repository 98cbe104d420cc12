"""WSGI entry point for the HTTP side only (the REST API, the dashboard, the admin).

Websockets need the ASGI application (`aleph_site.asgi`); see docs/deploy.md.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aleph_site.settings")
application = get_wsgi_application()

from arenas.events import announce_from_own_loop  # noqa: E402

announce_from_own_loop()
