"""Series read from the database when `/metrics` is scraped.

Live claims, open requests for people and webhook lag are facts of the database, written by
every process and by commands alike. Kept as gauges in each process's memory they would
drift (a process restarts, a command expires claims, another process answers a request);
read at scrape time they are exact, whichever process answers the scrape, and cost the write
path nothing: a handful of counting queries per scrape (every 15–60 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from arenas.errors import TRANSIENT_DATABASE_ERRORS
from arenas.logs import error_line
from arenas.models import Arena, Claim, InputRequest, RequestStatus, Status, WebhookSubscription
from arenas.webhooks import subscriptions

logger = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._families()
        except Exception as error:
            logger.warning(
                "metrics: the database could not be read (%s)",
                error_line(error),
                exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
            )

    def _families(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        families = []

        arenas = GaugeMetricFamily("aleph_arenas", "Arenas by status.", labels=["status"])
        counts = dict(Arena.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in Status.values:
            arenas.add_metric([status], counts.get(status, 0))
        families.append(arenas)

        families.append(
            GaugeMetricFamily(
                "aleph_claims_live",
                "Live claims (leases not lapsed).",
                Claim.objects.within_lease(now).count(),
            )
        )
        families.append(
            GaugeMetricFamily(
                "aleph_claims_lapsed",
                "Claims past their lease whose expiry is not recorded yet (the sweep records "
                "each within seconds; a number that stays up means no process sweeps).",
                Claim.objects.past_lease(now).count(),
            )
        )

        open_requests = InputRequest.objects.filter(status=RequestStatus.OPEN)
        oldest = open_requests.aggregate(first=Min("created_at"))["first"]
        families.append(
            GaugeMetricFamily(
                "aleph_requests_open",
                "Requests for people waiting for an answer.",
                open_requests.count(),
            )
        )
        families.append(
            GaugeMetricFamily(
                "aleph_requests_oldest_open_seconds",
                "Age of the oldest request for people still waiting (0 when none waits).",
                0.0 if oldest is None else (now - oldest).total_seconds(),
            )
        )

        states = GaugeMetricFamily(
            "aleph_webhook_subscriptions", "Webhook subscriptions by state.", labels=["state"]
        )
        active = dict(
            WebhookSubscription.objects.order_by().values_list("active").annotate(n=Count("id"))
        )
        states.add_metric(["active"], active.get(True, 0))
        states.add_metric(["disabled"], active.get(False, 0))
        families.append(states)

        lag = subscriptions.lag(subscriptions.active_cursors())
        families.append(
            GaugeMetricFamily(
                "aleph_webhook_backlog_events",
                "Events not yet delivered to an active webhook subscription (the largest "
                "backlog of one subscription in one arena).",
                lag.events,
            )
        )
        families.append(
            GaugeMetricFamily(
                "aleph_webhook_lag_seconds",
                "Age of the oldest event not yet delivered to an active webhook subscription.",
                lag.seconds(now),
            )
        )
        return families
