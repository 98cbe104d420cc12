"""Websocket routes of the live feed.

No middleware: the consumers identify their client themselves (`auth.identify`: a bearer
token, or the session cookie), on the live side's database threads, and write to the server
directly. Every path answers a websocket handshake: an unknown one, or a malformed arena id,
is accepted and closed with 4404.
"""

from channels.routing import URLRouter
from django.urls import re_path

from .consumers import ArenaFeedConsumer, DashboardConsumer, UnknownPathConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/arenas/(?P<arena_id>[^/]*)/?$", ArenaFeedConsumer.as_asgi()),
    re_path(r"^ws/dashboard/?$", DashboardConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]

websocket_application = URLRouter(websocket_urlpatterns)
