"""Arenas: created by `ArenaManager.create`, changed and moved through their lifecycle by the
staff user's `ArenaHandle`; participants, live claims and open requests inline."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from arenas import budgets, lifecycle
from arenas.aggregate import progress_percent
from arenas.handle import ArenaHandle
from arenas.lifecycle import Operation
from arenas.manager import ArenaManager
from arenas.models import (
    Agent,
    Arena,
    Claim,
    InputRequest,
    Participant,
    RequestStatus,
    Role,
    Status,
)
from arenas.permissions import PERMISSIONS
from arenas.usage import Totals

from .base import DomainForm, DomainWriteAdmin, ReadOnlyInline, as_staff, pretty_json, preview


class ArenaAddForm(DomainForm):
    goal = forms.CharField(widget=forms.Textarea, strip=False)
    total_steps = forms.IntegerField(
        min_value=0, initial=0, help_text="0 to 4294967295; 0 means an open-ended plan."
    )
    coordinator = forms.ModelChoiceField(
        queryset=Agent.objects.filter(is_active=True).order_by("agent_id"),
        required=False,
        help_text="Optional: the agent that creates the arena and becomes its first coordinator.",
    )
    field_aliases = {"participants": "coordinator"}

    class Meta:
        model = Arena
        fields = ["goal", "strategy", "total_steps"]

    def apply(self) -> Arena:
        data = self.cleaned_data
        coordinator = data.get("coordinator")
        arena_id = ArenaManager().create(
            {
                "goal": data["goal"],
                "strategy": data["strategy"],
                "total_steps": data["total_steps"],
            },
            created_by=coordinator.pk if coordinator else None,
        )
        return Arena(pk=arena_id)


class ArenaChangeForm(DomainForm):
    field_aliases = {f"budget.{name}": "budget" for name in budgets.LIMITS}
    goal = forms.CharField(widget=forms.Textarea, strip=False)
    budget = forms.JSONField(
        required=False,
        help_text='Spending limits, e.g. {"cost_usd": "25.00", "per_agent_tokens": 200000} '
        "(cost_usd, tokens, per_agent_cost_usd, per_agent_tokens); empty removes the budget.",
    )

    class Meta:
        model = Arena
        fields = ["goal", "budget"]

    def apply(self) -> Arena | None:
        changes = {
            name: self.cleaned_data[name]
            for name in ("goal", "budget")
            if name in self.fields and name in self.changed_data
        }
        if not changes:
            return None
        handle = ArenaManager().staff_handle(self.instance.pk, self.staff_username)
        return handle.update(changes)


def permission_override(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=name.replace("_", " "),
        choices=[("", "role default"), ("true", "yes"), ("false", "no")],
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
    )


class ParticipantAddForm(DomainForm):
    """A new row of the participants inline: the agent joins through
    `ArenaHandle.add_participant`, with its role and any permission overrides."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.WORKER)
    can_write_own_slot = permission_override("can_write_own_slot")
    can_read_other_slots = permission_override("can_read_other_slots")
    can_write_shared_memory = permission_override("can_write_shared_memory")
    can_merge = permission_override("can_merge")
    field_aliases = {"agent_id": "agent"}

    class Meta:
        model = Participant
        fields = ["agent", "role", *PERMISSIONS]

    def apply(self) -> Participant:
        data = self.cleaned_data
        overrides = {name: data[name] for name in PERMISSIONS if data.get(name) is not None}
        handle = ArenaManager().staff_handle(self.instance.arena_id, self.staff_username)
        return handle.add_participant(data["agent"].pk, data["role"], **overrides)


class ParticipantInline(ReadOnlyInline):
    """Participants, current and past, read-only; while the arena's state allows it, new
    rows add agents through the handle (removing is the agents' or the API's business)."""

    model = Participant
    form = ParticipantAddForm
    fields = ["agent", "role", *PERMISSIONS, "slot_status", "current", "joined_at", "left_at"]
    readonly_fields = ["slot_status", "current", "joined_at", "left_at"]
    ordering = ["agent_id"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.staff_username = request.user.get_username()
        return formset

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "agent":
            kwargs["queryset"] = Agent.objects.filter(is_active=True).order_by("agent_id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            obj is not None
            and lifecycle.allows(obj.status, Operation.ADD_PARTICIPANT)
            and request.user.has_perm("arenas.change_arena")
        )


class LiveClaimInline(ReadOnlyInline):
    """The arena's claims within their lease, by step (`Claim.objects.within_lease`); the
    claim list releases them."""

    model = Claim
    fields = ["step", "agent", "claim_id", "claimed_at", "expires_at", "renewed_at"]
    readonly_fields = fields
    ordering = ["step"]
    verbose_name_plural = "Live claims (release them with the action of the claim list)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return super().get_queryset(request).within_lease().select_related("agent")


class OpenRequestInline(ReadOnlyInline):
    """The arena's open requests for people, oldest first, read-only: people answer them
    on the dashboard's arena page (or an agent coordinator through the API), through the
    domain; the request list has every request of the arena."""

    model = InputRequest
    fields = ["kind", "agent", "short_text", "choices", "step", "created_at"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = "Open requests for people (answer them on the dashboard's arena page)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[InputRequest]:
        return (
            super().get_queryset(request).filter(status=RequestStatus.OPEN).select_related("agent")
        )

    @admin.display(description="Text")
    def short_text(self, item: InputRequest) -> str:
        return preview(item.text, 200)


def lifecycle_action(action: str) -> Callable[..., None]:
    """The arena list's action that runs one lifecycle action on every selected arena."""

    def run(modeladmin: ArenaAdmin, request: HttpRequest, queryset: QuerySet[Arena]) -> None:
        arena_ids = list(queryset.order_by("id").values_list("id", flat=True))
        modeladmin._act(request, arena_ids, action)

    run.__name__ = action
    label = lifecycle.ACTION_LABELS[action]
    return admin.action(description=f"{label} the selected arenas", permissions=["change"])(run)


ARENA_READONLY = [
    "id",
    "status",
    "allowed_transitions",
    "strategy",
    "total_steps",
    "completed_steps",
    "progress",
    "participant_count",
    "created_by",
    "created_at",
    "activated_at",
    "settling_at",
    "archived_at",
    "last_seq",
    "last_activity_at",
    "events_link",
    "lease_seconds",
    "claims_link",
    "requests_link",
    "settle_report",
    "usage_totals",
    "usage_link",
]


@admin.register(Arena)
class ArenaAdmin(DomainWriteAdmin):
    form = ArenaChangeForm
    add_form = ArenaAddForm
    list_display = [
        "short_goal",
        "status",
        "progress",
        "participant_count",
        "strategy",
        "created_by",
        "created_at",
        "last_activity_at",
    ]
    list_filter = ["status", "strategy"]
    search_fields = ["goal", "id"]
    list_select_related = ["created_by"]
    inlines = [ParticipantInline, LiveClaimInline, OpenRequestInline]
    actions = [lifecycle_action(action) for action in lifecycle.ACTIONS]
    add_fieldsets = [(None, {"fields": ["goal", "strategy", "total_steps", "coordinator"]})]

    class Media:
        css = {"all": ["admin-arenas/lifecycle.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Arena]:
        return super().get_queryset(request).with_participant_count("current_participants")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return self.add_fieldsets
        return [
            (None, {"fields": ["goal", "id", "created_by"]}),
            (
                "Lifecycle",
                {
                    "fields": [
                        "status",
                        "allowed_transitions",
                        "created_at",
                        "activated_at",
                        "settling_at",
                        "archived_at",
                        "settle_report",
                    ]
                },
            ),
            (
                "Progress",
                {
                    "fields": [
                        "strategy",
                        "total_steps",
                        "completed_steps",
                        "progress",
                        "participant_count",
                        "last_seq",
                        "last_activity_at",
                        "events_link",
                    ]
                },
            ),
            ("Claims", {"fields": ["lease_seconds", "claims_link"]}),
            ("Requests for people", {"fields": ["requests_link"]}),
            ("Usage and budget", {"fields": ["budget", "usage_totals", "usage_link"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Arena | None = None) -> list[str]:
        if obj is None:
            return []
        readonly = list(ARENA_READONLY)
        if not lifecycle.allows(obj.status, Operation.UPDATE_GOAL):
            readonly.append("goal")
        if not lifecycle.allows(obj.status, Operation.CHANGE_BUDGET):
            readonly.append("budget")
        return readonly

    @admin.display(description="Goal", ordering="goal")
    def short_goal(self, arena: Arena) -> str:
        return preview(arena.goal, 80)

    @admin.display(description="Progress")
    def progress(self, arena: Arena) -> str:
        if not arena.total_steps:
            return f"{arena.completed_steps} (open-ended)"
        percent = progress_percent(arena.completed_steps, arena.total_steps)
        return f"{arena.completed_steps} / {arena.total_steps} ({percent}%)"

    @admin.display(description="Participants", ordering="current_participants")
    def participant_count(self, arena: Arena) -> int:
        return arena.current_participants

    @admin.display(description="Allowed transitions")
    def allowed_transitions(self, arena: Arena) -> str:
        return (
            ", ".join(
                f"{action} (→ {Status(lifecycle.ACTIONS[action]).label})"
                for action in lifecycle.allowed_actions(arena.status)
            )
            or "none: the arena is archived"
        )

    @admin.display(description="Events")
    def events_link(self, arena: Arena) -> str:
        url = reverse("admin:arenas_event_changelist") + f"?arena__id__exact={arena.pk}"
        return format_html('<a href="{}">The {} events of this arena</a>', url, arena.last_seq)

    @admin.display(description="Claim history")
    def claims_link(self, arena: Arena) -> str:
        url = reverse("admin:arenas_claim_changelist") + f"?arena__id__exact={arena.pk}"
        return format_html('<a href="{}">Every claim of this arena, live and ended</a>', url)

    @admin.display(description="Spent")
    def usage_totals(self, arena: Arena) -> str:
        return pretty_json(Totals.of(arena.usage).wire())

    @admin.display(description="Usage reports")
    def usage_link(self, arena: Arena) -> str:
        url = reverse("admin:arenas_usagereport_changelist") + f"?arena__id__exact={arena.pk}"
        return format_html('<a href="{}">Every usage report of this arena</a>', url)

    @admin.display(description="Requests")
    def requests_link(self, arena: Arena) -> str:
        url = reverse("admin:arenas_inputrequest_changelist") + f"?arena__id__exact={arena.pk}"
        return format_html('<a href="{}">Every request of this arena, open and closed</a>', url)

    def get_urls(self) -> list:
        lifecycle_url = path(
            "<path:object_id>/lifecycle/<str:action>/",
            self.admin_site.admin_view(self.lifecycle_view),
            name="arenas_arena_lifecycle",
        )
        return [lifecycle_url, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        arena = self.get_object(request, object_id)
        buttons = []
        if arena is not None and self.has_change_permission(request, arena):
            buttons = [
                (action, lifecycle.ACTION_LABELS[action])
                for action in lifecycle.allowed_actions(arena.status)
            ]
        extra_context = {**(extra_context or {}), "lifecycle_buttons": buttons}
        return super().change_view(request, object_id, form_url, extra_context)

    def lifecycle_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """The change page's lifecycle buttons: one action on one arena, then back."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        self._act(request, [object_id], action)
        return redirect("admin:arenas_arena_change", object_id)

    def _act(self, request: HttpRequest, arena_ids: Iterable[Any], action: str) -> None:
        """Run one lifecycle action on each arena, reporting each outcome as a message."""
        for arena_id in arena_ids:
            as_staff(request, arena_id, f"Arena {arena_id}: {action} refused", _act, action)


def _act(handle: ArenaHandle, action: str) -> str:
    return f"Arena {handle.arena_id}: now {handle.act(action).status}."
