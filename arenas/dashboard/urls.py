"""Routes of the browser dashboard (SPEC §4)."""

urlpatterns: list = []
