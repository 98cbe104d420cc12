"""Usage reports, read-only."""

from __future__ import annotations

from django.contrib import admin

from arenas.inputs import usd
from arenas.models import (
    UsageReport,
)

from .base import ReadOnlyAdmin


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdmin):
    """Usage reports, read-only: the ledger is written by agents' reports only. Filtered
    to one arena (`?arena__id__exact=`) or by whether they were priced; newest first."""

    list_display = ["seq", "arena", "agent", "model", "tokens", "calls", "cost", "step"]
    list_filter = ["priced"]
    search_fields = ["model", "agent__agent_id", "arena__id"]
    fields = [
        "arena",
        "seq",
        "agent",
        "model",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "calls",
        "cost",
        "priced",
        "step",
        "created_at",
    ]
    readonly_fields = ["cost"]
    list_select_related = ["arena", "agent"]
    ordering = ["-created_at", "arena_id", "seq"]

    @admin.display(description="Tokens in / out")
    def tokens(self, report: UsageReport) -> str:
        return f"{report.input_tokens} / {report.output_tokens}"

    @admin.display(description="Cost (USD)")
    def cost(self, report: UsageReport) -> str:
        return "unpriced" if report.cost_micro_usd is None else usd(report.cost_micro_usd)
