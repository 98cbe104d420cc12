"""The test suite's settings: the application's own (aleph_site/settings.py), with a fast
password hasher.

Django's default hasher (PBKDF2, a million iterations) spends a large part of a second on
every password it sets or checks, on purpose; the suite creates and signs in users in
hundreds of tests, so it uses MD5 instead (tests/admin/test_admin.py: 61 s -> 16 s).
Production settings are untouched: nothing outside the suite names this module.

pyproject.toml names it for pytest-django, which exports it as DJANGO_SETTINGS_MODULE; the
commands and servers the suite starts as subprocesses (tests/support/liveserver.py) inherit
that variable, so the live servers hash with MD5 too.
"""

from aleph_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
