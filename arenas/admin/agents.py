"""Agents (created through `arenas.agents`, with their tokens and presence) and their tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from arenas import agents
from arenas.models import (
    Agent,
    AgentToken,
)

from .base import DomainForm, DomainWriteAdmin, ReadOnlyAdmin, ReadOnlyInline


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


class AgentAddForm(DomainForm):
    class Meta:
        model = Agent
        fields = ["agent_id", "display_name", "owner"]

    def apply(self) -> Agent:
        data = self.cleaned_data
        return agents.create_agent(
            data["agent_id"], data["display_name"], _username(data.get("owner"))
        )


class AgentChangeForm(DomainForm):
    class Meta:
        model = Agent
        fields = ["display_name", "is_active", "owner"]

    def apply(self) -> Agent | None:
        if not self.changed_data:
            return None
        data = self.cleaned_data
        return agents.update_agent(
            self.instance.pk,
            display_name=data["display_name"],
            is_active=data["is_active"],
            owner_username=_username(data.get("owner")),
        )


class AgentTokenInline(ReadOnlyInline):
    model = AgentToken
    fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    verbose_name_plural = (
        "Tokens (issue with the action on the agent list; revoke under Agent tokens)"
    )


AGENT_READONLY = ["created_at", "presence", "last_seen_at", "tokens_link"]


@admin.register(Agent)
class AgentAdmin(DomainWriteAdmin):
    form = AgentChangeForm
    add_form = AgentAddForm
    list_display = [
        "agent_id",
        "display_name",
        "is_active",
        "owner",
        "live_tokens",
        "presence",
        "last_seen_at",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["agent_id", "display_name"]
    list_select_related = ["owner"]
    inlines = [AgentTokenInline]
    actions = ["issue_tokens"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return (
            super()
            .get_queryset(request)
            .annotate(live_token_count=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    @admin.display(description="Live tokens", ordering="live_token_count")
    def live_tokens(self, agent: Agent) -> int:
        return agent.live_token_count

    @admin.display(description="Presence", ordering="last_seen_at")
    def presence(self, agent: Agent) -> str:
        return agents.presence(agent.last_seen_at, timezone.now())

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return AgentAddForm.Meta.fields
        return ["agent_id", *AgentChangeForm.Meta.fields, *AGENT_READONLY]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["agent_id", *AGENT_READONLY]

    @admin.display(description="Tokens")
    def tokens_link(self, agent: Agent) -> str:
        url = reverse("admin:arenas_agenttoken_changelist") + f"?agent__agent_id__exact={agent.pk}"
        return format_html('<a href="{}">Revoke tokens of {}</a>', url, agent.pk)

    def save_model(self, request: HttpRequest, obj: Agent, form: DomainForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._issue(request, obj)

    @admin.action(description="Issue a new token for the selected agents", permissions=["change"])
    def issue_tokens(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        for agent in queryset.order_by("agent_id"):
            self._issue(request, agent)

    def _issue(self, request: HttpRequest, agent: Agent) -> None:
        token, _record = agents.issue_token(agent)
        messages.success(
            request,
            f"New token for {agent.agent_id!r}, shown this once (only its digest is kept): {token}",
        )
        if not agent.is_active:
            messages.warning(request, f"{agent.agent_id!r} is inactive: its tokens do not work.")


@admin.register(AgentToken)
class AgentTokenAdmin(ReadOnlyAdmin):
    """Tokens without their digests; the one write is revoking."""

    list_display = ["prefix", "agent", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["agent__agent_id", "prefix"]
    fields = ["agent", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("arenas.change_agenttoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AgentToken]) -> None:
        count = 0
        for record in queryset.filter(revoked_at__isnull=True).order_by("id"):
            agents.revoke_token(record)
            count += 1
        messages.success(request, f"Revoked {count} token(s).")
