"""Routes of the agent REST API (SPEC §2)."""

urlpatterns: list = []
