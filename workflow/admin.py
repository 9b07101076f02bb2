"""Admin pages whose changes go through the workflow's services, and the workflow's records.

Changes that carry permissions or state cannot bypass the audit trail: memberships and
assignments call the services, and the django-fsm transition buttons run
`workflow.services.run_transition`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest
from django_fsm.admin import FSMAdminMixin

from cases import permissions
from cases.errors import DomainError
from cases.models import AppraiserAssignment, Case, Cycle, Membership
from cases.users import signed_in
from workflow.cycle_services import (
    add_membership,
    assign_appraiser,
    open_cycle,
    remove_membership,
    unassign_appraiser,
)
from workflow.models import AuditEntry, Clarification
from workflow.services import run_transition


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ["at", "actor", "action", "case", "source", "target"]
    list_filter = ["action"]
    search_fields = ["case__unit__code", "actor__username", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Clarification)
class ClarificationAdmin(admin.ModelAdmin):
    list_display = ["case", "criterion", "round", "status", "due_at"]
    list_filter = ["status", "round"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseRoleForm(forms.ModelForm):
    """Refuses the auditor and the system actor before the service would."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("user")
        if user is not None and not permissions.may_take_case_role(user):
            raise forms.ValidationError(permissions.case_role_refusal(user))
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = CaseRoleForm
    list_display = ["user", "unit", "role"]
    list_filter = ["role", "unit__group"]
    search_fields = ["user__username", "unit__code", "unit__name"]
    autocomplete_fields = ["user", "unit"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # remove and add again: each change is audited

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = add_membership(obj.user, obj.unit, obj.role, actor=signed_in(request.user))
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        remove_membership(obj, actor=signed_in(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AppraiserAssignment)
class AppraiserAssignmentAdmin(admin.ModelAdmin):
    form = CaseRoleForm
    list_display = ["user", "cycle", "area_code"]
    list_filter = ["cycle", "area_code"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = assign_appraiser(
            obj.cycle, obj.user, obj.area_code, actor=signed_in(request.user)
        ).pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        unassign_appraiser(obj, actor=signed_in(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["title", "year", "status", "self_assessment_due", "appraisal_due"]
    list_filter = ["status"]
    readonly_fields = ["status", "opened_at"]
    actions = ["open_cycles"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created on the pages or the API: `create_cycle` checks and audits it

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A cycle, once it exists, changes only through the services (the pages and
        # PATCH /api/v1/cycles/{id}/), which check the rules and write the audit entry: here
        # every field is read-only, so a published decision can never be rewritten unseen.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [f.name for f in Cycle._meta.concrete_fields if f.name not in fields]
        return fields

    @admin.action(description="Mở đợt đánh giá (tạo hồ sơ cho các đơn vị)")
    def open_cycles(self, request: HttpRequest, queryset: Any) -> None:
        for cycle in queryset:
            try:
                count = open_cycle(cycle.pk, actor=signed_in(request.user))
                self.message_user(request, f"{cycle}: {count}", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{cycle}: {exc.message}", messages.ERROR)


@admin.register(Case)
class CaseAdmin(FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["state"]
    list_display = ["unit", "cycle", "state", "is_late", "appraisal_round"]
    list_filter = ["cycle", "state", "is_late", "unit__group"]
    search_fields = ["unit__code", "unit__name"]
    readonly_fields = [
        "cycle",
        "unit",
        "state",
        "is_late",
        "appraisal_round",
        "submitted_at",
        "finalised_at",
        "published_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are created when a cycle opens

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _apply_fsm_transition(
        self, *, obj: Model, transition_name: str, request: HttpRequest, kwargs: Any = None
    ) -> bool:
        """Run the button's transition through the service (permission, guards, audit)."""
        try:
            run_transition(
                obj.pk,
                transition_name,
                actor=signed_in(request.user),
                comment=request.POST.get("comment", ""),
            )
        except DomainError as exc:
            detail = "; ".join(str(e) for e in exc.errors)
            self.message_user(request, f"{exc.message} {detail}".strip(), messages.ERROR)
            return False
        return True
