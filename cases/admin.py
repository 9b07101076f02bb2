"""Admin for the secretariat: units, criteria sets, lineage and the other records, read-only.

Each of them changes through an audited service, from the setup pages or the API (units and
accounts, criteria sets, mergers and renamings). Memberships, appraiser assignments, cycles
and cases save through the workflow's services, so their admin pages are in
`workflow/admin.py`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import User
from django.http import HttpRequest

from cases import permissions
from cases.models import (
    Criterion,
    Framework,
    Membership,
    PublishedResult,
    RankingExclusion,
    SurveyImport,
    Unit,
    UnitGroup,
    UnitLineage,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the services (audited), through the pages and the API; the admin shows
    them. A change made here would reach the results with no audit entry."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UnitGroup)
class UnitGroupAdmin(ReadOnlyAdmin):
    list_display = ["code", "name"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "group", "parent", "is_active"]
    list_filter = ["group", "is_active"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


class CriterionInline(admin.TabularInline):
    model = Criterion
    fk_name = "framework"
    extra = 0
    fields = readonly_fields = (
        "code",
        "title",
        "max_points",
        "method",
        "evidence_required",
        "not_applicable_allowed",
        "is_leaf",
    )
    can_delete = False
    ordering = ["position"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Framework)
class FrameworkAdmin(ReadOnlyAdmin):
    list_display = ["title", "cycle", "unit_group", "bonus_cap", "penalty_cap"]
    list_filter = ["cycle", "unit_group"]
    inlines = [CriterionInline]


@admin.register(UnitLineage)
class UnitLineageAdmin(ReadOnlyAdmin):
    """Mergers, splits and renamings: how results find a unit's rank of the previous cycle."""

    list_display = ["predecessor", "successor", "kind", "effective_date", "note"]
    list_filter = ["kind"]
    search_fields = ["predecessor__code", "predecessor__name", "successor__code", "successor__name"]
    autocomplete_fields = ["predecessor", "successor"]


@admin.register(RankingExclusion)
class RankingExclusionAdmin(ReadOnlyAdmin):
    list_display = ["case", "reason", "decided_by", "decided_at"]
    list_filter = ["case__cycle"]


@admin.register(SurveyImport)
class SurveyImportAdmin(ReadOnlyAdmin):
    list_display = ["cycle", "filename", "row_count", "imported_by", "imported_at", "sha256"]
    list_filter = ["cycle"]
    exclude = ["rows"]


@admin.register(PublishedResult)
class PublishedResultAdmin(ReadOnlyAdmin):
    list_display = ["cycle", "group_code", "rank", "unit", "index", "classification", "excluded"]
    list_filter = ["cycle", "group_code", "excluded"]
    search_fields = ["unit__code", "unit__name"]


class AccountForm(UserChangeForm):
    """Django's account form, refusing roles that cannot go together: the auditor or the
    system actor given a writing role, a permission of its own or more."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        groups = [g.name for g in data.get("groups") or []]
        username = data.get("username") or self.instance.get_username()
        refusal = permissions.role_refusal(
            username,
            groups,
            direct_perms=bool(data.get("user_permissions")),
            memberships=self.instance.pk is not None and self.instance.memberships.exists(),
        )
        if refusal:
            raise forms.ValidationError(refusal)
        return data


admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    form = AccountForm
