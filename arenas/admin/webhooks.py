"""Webhook subscriptions in the admin: a thin door over
`arenas.webhooks.subscriptions`.

Staff add a subscription (its secret is shown once, in the success message), see each one's
state, last error and lag, and its cursor per arena; they disable subscriptions and resume
them, from their cursors or, for one arena, from a chosen seq. Deleting goes through the
domain too.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone

from arenas import validation
from arenas.errors import DomainError
from arenas.models import Event, EventType, WebhookCursor, WebhookSubscription
from arenas.webhooks import subscriptions

from .base import DomainForm, ReadOnlyInline, StorableLookups, preview


class WebhookAddForm(DomainForm):
    arena_ids = forms.CharField(
        label="Arenas",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Arena ids, one per line; empty: every arena, now and later.",
    )
    event_types = forms.MultipleChoiceField(
        label="Event types",
        required=False,
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    field_aliases = {"arenas": "arena_ids", "types": "event_types"}
    user: Any = None

    class Meta:
        model = WebhookSubscription
        fields = ["url"]

    def apply(self) -> WebhookSubscription:
        data = self.cleaned_data
        ids = [line.strip() for line in data["arena_ids"].splitlines() if line.strip()]
        return subscriptions.create(
            self.user, data["url"], ids or None, data["event_types"] or None
        )


class CursorInline(ReadOnlyInline):
    model = WebhookCursor
    fields = [
        "arena",
        "seq",
        "behind",
        "waiting_since",
        "attempts",
        "next_attempt_at",
        "last_error",
        "last_delivered_at",
        "leased_until",
    ]
    readonly_fields = fields
    verbose_name_plural = "Cursors: how far each arena's log was delivered"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookCursor]:
        return super().get_queryset(request).select_related("arena").order_by("arena_id")

    @admin.display(description="Delivered up to seq")
    def seq(self, cursor: WebhookCursor) -> int:
        return cursor.seq

    @admin.display(description="Behind (events)")
    def behind(self, cursor: WebhookCursor) -> int:
        return max(0, cursor.arena.last_seq - cursor.seq)

    @admin.display(description="Next event appended at")
    def waiting_since(self, cursor: WebhookCursor) -> Any:
        return (
            Event.objects.filter(arena_id=cursor.arena_id, seq=cursor.seq + 1)
            .values_list("timestamp", flat=True)
            .first()
        )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(StorableLookups, admin.ModelAdmin):
    list_display = ["url", "created_by", "state", "short_error", "lag", "created_at"]
    list_filter = ["active", "disabled_reason"]
    search_fields = ["url", "created_by__username"]
    list_select_related = ["created_by"]
    inlines = [CursorInline]
    actions = ["resume", "disable"]
    readonly_fields = [
        "id",
        "url",
        "arenas",
        "types",
        "created_by",
        "created_at",
        "state",
        "last_error",
        "last_error_at",
        "lag",
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = WebhookAddForm
            kwargs["fields"] = ["url", "arena_ids", "event_types"]
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        form.staff_username = request.user.get_username()
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["url", "arena_ids", "event_types"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> list:
        return [] if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        obj.pk = form.result.pk
        obj.refresh_from_db()
        messages.success(
            request,
            f"Signing secret of the subscription to {obj.url}, shown this once: {obj.secret}",
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the cursors are the deliverer's; the inline is read-only

    def delete_model(self, request: HttpRequest, obj: WebhookSubscription) -> None:
        subscriptions.delete(request.user, obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for subscription in queryset:
            subscriptions.delete(request.user, subscription.pk)

    @admin.display(description="State")
    def state(self, subscription: WebhookSubscription) -> str:
        if subscription.active:
            return "active"
        return f"disabled: {subscription.get_disabled_reason_display().lower()}"

    @admin.display(description="Last error")
    def short_error(self, subscription: WebhookSubscription) -> str:
        return preview(subscription.last_error, 120) if subscription.last_error else "—"

    @admin.display(description="Lag")
    def lag(self, subscription: WebhookSubscription) -> str:
        lag = subscriptions.lag(subscription.cursors.all())
        if not lag.events:
            return "caught up"
        return (
            f"{lag.events} event(s) behind, the oldest waiting {lag.seconds(timezone.now()):.0f} s"
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing of a subscription is edited in place: it is disabled, resumed or deleted.
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("arenas.change_webhooksubscription")

    @admin.action(
        description="Resume the selected subscriptions from their cursors", permissions=["manage"]
    )
    def resume(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            subscriptions.resume(subscription)
            messages.success(request, f"Resumed {subscription.url} from its cursors.")

    @admin.action(description="Disable the selected subscriptions", permissions=["manage"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            subscriptions.disable_by_staff(subscription)
            messages.success(request, f"Disabled {subscription.url}.")

    def get_urls(self) -> list:
        resume_url = path(
            "<path:object_id>/resume/",
            self.admin_site.admin_view(self.resume_view),
            name="arenas_webhooksubscription_resume",
        )
        return [resume_url, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        subscription = self.get_object(request, object_id)
        arenas = []
        if subscription is not None:
            arenas = [str(a) for a in subscription.cursors.values_list("arena_id", flat=True)]
        extra_context = {
            **(extra_context or {}),
            "may_manage": self.has_manage_permission(request),
            "cursor_arenas": sorted(arenas),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def resume_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's form: resume from the cursors, or one arena from a seq."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_manage_permission(request):
            raise PermissionDenied
        subscription = self.get_object(request, object_id)
        if subscription is None:
            return redirect("admin:arenas_webhooksubscription_changelist")
        arena = request.POST.get("arena", "").strip()
        seq = request.POST.get("from_seq", "").strip()
        try:
            if arena or seq:
                from_seq = validation.integer_text(seq)
                subscriptions.resume(subscription, _arena(arena), from_seq)
                messages.success(
                    request, f"Resumed; arena {arena} is delivered again from seq {seq}."
                )
            else:
                subscriptions.resume(subscription)
                messages.success(request, "Resumed from the cursors.")
        except DomainError as error:
            messages.error(request, f"Not resumed: {error.detail}")
        return redirect("admin:arenas_webhooksubscription_change", object_id)


def _arena(value: str) -> Any:
    try:
        return uuid.UUID(value)
    except ValueError:
        return value
