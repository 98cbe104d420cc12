"""Websocket routes of the live feed.

Channels' `AuthMiddlewareStack` reads the session cookie for browsers; agents' bearer tokens
are read by the consumers (`auth.identify`). Every path answers a websocket handshake: an
unknown one, or a malformed arena id, is accepted and closed with 4404.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import re_path

from .consumers import ArenaFeedConsumer, DashboardConsumer, UnknownPathConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/arenas/(?P<arena_id>[^/]*)/?$", ArenaFeedConsumer.as_asgi()),
    re_path(r"^ws/dashboard/?$", DashboardConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]

websocket_application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
