from django.apps import AppConfig


class ArenasConfig(AppConfig):
    name = "arenas"
    verbose_name = "Aleph Arena"
    default_auto_field = "django.db.models.BigAutoField"
