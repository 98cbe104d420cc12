"""Static files storage that works with and without `collectstatic`."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestOrFinderStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed, hashed storage once `collectstatic` has written its manifest.
    Before that, `{% static %}` names the plain file, which WhiteNoise serves straight from
    the finders (WHITENOISE_USE_FINDERS), so `DJANGO_DEBUG=0` works without a collect step
    instead of failing every page on a missing manifest entry."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
