from django.apps import AppConfig


class ArenasConfig(AppConfig):
    name = "arenas"
    verbose_name = "Aleph Arena"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each committed event wakes this process's webhook deliverer. Registered here, so
        # the event log (arenas/events.py) imports nothing of the webhooks.
        from . import events
        from .webhooks import deliverer

        events.on_committed(deliverer.nudge)
