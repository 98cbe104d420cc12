"""The admin's base classes: read-only admins and inlines, forms whose write is a domain
call, staff operations on an arena, and previews of long text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import router, transaction
from django.http import HttpRequest
from django.utils.html import format_html

from arenas.errors import DomainError, Invalid
from arenas.manager import ArenaManager

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
