"""The Django admin: a thin adapter over the domain, like the API.

Every write the admin makes is a domain call: arenas are created by `ArenaManager.create`,
their goal changed by `ArenaHandle.update_goal`, their lifecycle moved by `ArenaHandle.act`
and claims released by `ArenaHandle.release_claim` (acting as `staff:<username>`); agents and
tokens go through `arenas.agents`. A refusal of the domain becomes a form error or an admin
message, never a 500. Nothing is deleted here: arenas and agents are history, and events are
the audit trail (read-only, also for superusers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import agents, budgets, claims, lifecycle
from .aggregate import progress_percent
from .errors import DomainError, Invalid
from .handle import ArenaHandle
from .inputs import usd
from .lifecycle import Operation
from .manager import ArenaManager
from .models import (
    Agent,
    AgentToken,
    Arena,
    Artifact,
    Claim,
    ClaimEnd,
    Event,
    Fact,
    InputRequest,
    Participant,
    RequestStatus,
    Role,
    Status,
    UsageReport,
)
from .permissions import PERMISSIONS
from .usage import Totals

PREVIEW_CHARS = 10_000


def preview(value: str, limit: int = PREVIEW_CHARS) -> str:
    """`value` cut to `limit` characters (never bytes), saying how much was left out."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit} more characters)"


def pretty_json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', preview(text))


class StorableLookups:
    """Ids and filters from the URL are refused before they reach the database when no
    text column can hold them (NUL, which PostgreSQL refuses with an error): such an id
    names nothing, and such a filter is refused as the admin refuses any bad filter."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None):
        if "\x00" in object_id:
            return None
        return super().get_object(request, object_id, from_field)

    def get_changelist_instance(self, request: HttpRequest):
        if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            raise IncorrectLookupParameters("A filter holds a NUL character.")
        return super().get_changelist_instance(request)


class ReadOnly:
    """Viewable, never added, changed or deleted through the admin (also by superusers)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(StorableLookups, ReadOnly, admin.ModelAdmin):
    pass


def as_staff(
    request: HttpRequest, arena_id: Any, refused: str, run: Callable[..., str], *args: Any
) -> None:
    """Run one operation on an arena through the staff user's handle: `run(handle, *args)`
    returns the sentence of its success message; a domain refusal becomes an error message,
    `refused` and the domain's reason."""
    try:
        done = run(ArenaManager().staff_handle(arena_id, request.user.get_username()), *args)
    except DomainError as error:
        messages.error(request, f"{refused}: {error.detail}")
    else:
        messages.success(request, done)


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False


class DomainForm(forms.ModelForm):
    """A ModelForm whose write is a domain call.

    Once every field has been cleaned, `apply()` runs (inside the admin's transaction) and
    its result is kept in `result`; a domain refusal becomes errors on the form, so the
    admin shows the form again. The domain is the one validator: the model instance is not
    built or validated here (`_post_clean`, the hook Django's own UserCreationForm uses), and
    the admin never saves it.
    """

    # Domain field names that this form shows under another name.
    field_aliases: dict[str, str] = {}
    staff_username: str = ""
    result: Any = None

    def apply(self) -> Any:
        raise NotImplementedError

    def _post_clean(self) -> None:
        if self._errors:
            return
        try:
            self.result = self.apply()
        except Invalid as error:
            if not error.fields:
                self.add_error(None, error.detail)
            for name, problems in error.fields.items():
                name = self.field_aliases.get(name, name)
                self.add_error(name if name in self.fields else None, problems)
        except DomainError as error:
            self.add_error(None, error.detail)


class DomainWriteAdmin(StorableLookups, admin.ModelAdmin):
    """Saves through `DomainForm.apply`: the admin's own save only reloads the object.
    `add_form` is the form of the add page (`form` the change page's); inlines show on the
    change page only."""

    add_form: type[DomainForm]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        form.staff_username = request.user.get_username()
        return form

    def get_inlines(self, request: HttpRequest, obj: Any) -> list:
        return [] if obj is None or obj._state.adding else self.inlines

    def save_model(self, request: HttpRequest, obj: Any, form: DomainForm, change: bool) -> None:
        if not change:
            obj.pk = form.result.pk
        obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Inline rows were written by their own `DomainForm.apply`; list what they added
        for the admin's history message."""
        formset.new_objects = [f.result for f in formset.forms if getattr(f, "result", None)]
        formset.changed_objects = []
        formset.deleted_objects = []

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        # On a POST the page is shown again only because part of it was invalid: undo the
        # domain writes its valid parts made (the admin's view runs in one transaction, and
        # their announcements wait for its commit), so a POST applies all or nothing.
        if request.method == "POST":
            transaction.set_rollback(True, using=router.db_for_write(self.model))
        return super().render_change_form(request, context, *args, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- agents and tokens ----------------------------------------------------------------------


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


# --- arenas -----------------------------------------------------------------------------


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
    """The arena's live claims, by step (`claims.live_now`); the claim list releases them."""

    model = Claim
    fields = ["step", "agent", "claim_id", "claimed_at", "expires_at", "renewed_at"]
    readonly_fields = fields
    ordering = ["step"]
    verbose_name_plural = "Live claims (release them with the action of the claim list)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return claims.live_now(super().get_queryset(request)).select_related("agent")


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
        return (
            super()
            .get_queryset(request)
            .annotate(
                current_participants=Count(
                    "participants", filter=Q(participants__left_at__isnull=True)
                )
            )
        )

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


# --- the log and what agents produced ---------------------------------------------------------


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The audit trail. Filtered to one arena (`?arena__id__exact=`), in seq order;
    otherwise newest first."""

    list_display = ["seq", "type", "actor", "timestamp", "arena"]
    show_full_result_count = False
    list_filter = ["type"]
    search_fields = ["actor", "arena__id"]
    fields = ["arena", "seq", "type", "timestamp", "actor", "data_json"]
    readonly_fields = ["data_json"]
    list_select_related = ["arena"]

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["seq"] if "arena__id__exact" in request.GET else ["-id"]

    @admin.display(description="Fields")
    def data_json(self, event: Event) -> str:
        return pretty_json(event.data)


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
            return claims.live_now(queryset)
        if self.value() == "lapsed":
            return claims.lapsed(queryset)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
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


@admin.register(InputRequest)
class InputRequestAdmin(ReadOnlyAdmin):
    """Requests for people, read-only: they are answered on the dashboard (or by an agent
    coordinator through the API) and cancelled by their asker, always through the domain.
    Filtered to one arena (`?arena__id__exact=`) or by status and kind; newest first."""

    list_display = ["short_text", "kind", "agent", "status", "step", "created_at", "arena"]
    list_filter = ["status", "kind"]
    search_fields = ["text", "agent__agent_id", "arena__id"]
    fields = [
        "id",
        "arena",
        "kind",
        "agent",
        "step",
        "status",
        "text",
        "choices_json",
        "answer_json",
        "created_at",
        "closed_at",
    ]
    readonly_fields = ["choices_json", "answer_json"]
    list_select_related = ["arena", "agent"]

    @admin.display(description="Text")
    def short_text(self, item: InputRequest) -> str:
        return preview(item.text, 80)

    @admin.display(description="Choices")
    def choices_json(self, item: InputRequest) -> str:
        return "free answer" if item.choices is None else pretty_json(item.choices)

    @admin.display(description="Answer")
    def answer_json(self, item: InputRequest) -> str:
        return "—" if item.answer is None else pretty_json(item.answer)


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "agent", "arena", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title", "agent__agent_id", "arena__id"]
    fields = ["id", "arena", "agent", "kind", "title", "metadata_json", "content_preview"]
    readonly_fields = ["metadata_json", "content_preview"]
    list_select_related = ["arena", "agent"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        return super().get_queryset(request).defer("content")

    @admin.display(description="Metadata")
    def metadata_json(self, artifact: Artifact) -> str:
        return pretty_json(artifact.metadata)

    @admin.display(description="Content")
    def content_preview(self, artifact: Artifact) -> str:
        return pretty_json(artifact.content)


@admin.register(Fact)
class FactAdmin(ReadOnlyAdmin):
    list_display = ["short_content", "source_agent", "confidence", "arena", "created_at"]
    list_filter = [("settled_at", admin.EmptyFieldListFilter)]
    search_fields = ["content", "source_agent__agent_id", "arena__id"]
    fields = [
        "id",
        "arena",
        "source_agent",
        "content",
        "confidence",
        "tags",
        "created_at",
        "settled_at",
    ]
    list_select_related = ["arena", "source_agent"]

    @admin.display(description="Content")
    def short_content(self, fact: Fact) -> str:
        return preview(fact.content, 80)


# Webhook subscriptions have an admin module of their own; it builds on the classes above.
from .webhooks import admin as webhooks_admin  # noqa: E402, F401
