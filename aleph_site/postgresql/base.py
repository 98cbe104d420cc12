"""Django's PostgreSQL backend, with a connection pool that gets over a database restart at
once.

Django hands psycopg_pool `check_connection` as the pool's `check`, and psycopg_pool's
`getconn` then waits between one broken connection and the next with its reconnection
backoff (1, 2, 4, 8, 16 s): after a restart that left a handful of dead connections idle in
the pool, a request used up the whole 30 s timeout on them and failed. `RestartProofPool`
checks the connection it hands out itself; when one is found broken it closes it and checks
every idle connection at once (`ConnectionPool.check`: the broken ones are replaced in the
background), then takes the next connection without waiting. A request right after a restart
gets a live connection in the time it takes to open one.

Settings: ENGINE `aleph_site.postgresql` with `OPTIONS["pool"]`, as for Django's backend.
"""

from __future__ import annotations

import logging
from time import monotonic

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)


class RestartProofPool(ConnectionPool):
    """A pool whose `getconn` replaces every broken idle connection as soon as it meets one,
    instead of backing off before each. Created with `check=None`: the check is here."""

    def getconn(self, timeout: float | None = None):
        limit = self.timeout if timeout is None else timeout
        deadline = monotonic() + limit
        while True:
            left = deadline - monotonic()
            if left <= 0:
                raise PoolTimeout(f"couldn't get a connection after {limit:.2f} sec")
            try:
                connection = super().getconn(left)
            except PoolTimeout:
                raise PoolTimeout(f"couldn't get a connection after {limit:.2f} sec") from None
            try:
                self.check_connection(connection)
            except Exception as error:
                connection.close()
                self.putconn(connection)  # closed: the pool opens another in its place
                self.replace_broken(error)
            else:
                return connection

    def replace_broken(self, error: Exception) -> None:
        """Check every idle connection, the broken ones replaced; one log line for them all."""
        lost = self.get_stats().get("connections_lost", 0)
        self.check()
        logger.warning(
            "A pooled database connection was broken (%s); %d more idle one(s) replaced",
            str(error).strip() or type(error).__name__,
            self.get_stats().get("connections_lost", 0) - lost,
        )


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        """Django's pool (see `base.DatabaseWrapper.pool`), a `RestartProofPool`."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise base.ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # Django sets it properly later on
            pool = RestartProofPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=None,
                **({} if options is True else options),
            )
            # Threads racing to make the pool: the first one's wins (it is not open yet).
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
