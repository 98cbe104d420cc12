"""Claims, read-only, with a release action (`ArenaHandle.release_claim`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from arenas import claims
from arenas.handle import ArenaHandle
from arenas.models import (
    Claim,
    ClaimEnd,
)

from .base import ReadOnlyAdmin, as_staff

CLAIM_STATES = {
    "live": "Live",
    "lapsed": "Lapsed (its expiry is not recorded yet)",
    **dict(ClaimEnd.choices),
}


class ClaimStateFilter(admin.SimpleListFilter):
    """Live, lapsed (past its lease, expiry not recorded yet) or ended (`claims.state`)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("lapsed", CLAIM_STATES["lapsed"]), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        if self.value() == "live":
            return queryset.within_lease()
        if self.value() == "lapsed":
            return queryset.past_lease()
        if self.value() == "ended":
            return queryset.ended()
        return queryset


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    """Claims, live and ended, read-only; the one write is releasing live ones, through
    the domain. Filtered to one arena (`?arena__id__exact=`), by claim id (its seq);
    otherwise newest first."""

    list_display = [
        "claim_id",
        "step",
        "agent",
        "state",
        "expires_at",
        "claimed_at",
        "renewed_at",
        "ended_at",
        "arena",
    ]
    list_filter = [ClaimStateFilter, "end"]
    search_fields = ["arena__id", "agent__agent_id"]
    fields = [
        "arena",
        "claim_id",
        "step",
        "agent",
        "state",
        "claimed_at",
        "expires_at",
        "renewed_at",
        "ended_at",
    ]
    readonly_fields = ["state"]
    list_select_related = ["arena", "agent"]
    actions = ["release"]

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["claim_id"] if "arena__id__exact" in request.GET else ["-id"]

    @admin.display(description="State")
    def state(self, claim: Claim) -> str:
        return CLAIM_STATES[claims.state(claim, timezone.now())]

    def has_release_permission(self, request: HttpRequest) -> bool:
        """Releasing a claim steers its arena: the permission the lifecycle actions need."""
        return request.user.has_perm("arenas.change_arena")

    @admin.action(description="Release the selected claims", permissions=["release"])
    def release(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        for claim in queryset.order_by("arena_id", "claim_id"):
            refused = f"Arena {claim.arena_id}: releasing claim {claim.claim_id} refused"
            as_staff(request, claim.arena_id, refused, _release, claim.claim_id)


def _release(handle: ArenaHandle, claim_id: int) -> str:
    event = handle.release_claim(claim_id)
    return (
        f"Arena {handle.arena_id}: released claim {claim_id} of {event.data['agent_id']} "
        f"on step {event.data['step']}."
    )
