"""Read-only admin: evidence changes only through evidence.services (audited, consistent
with the store); operators look here, and repair with `manage.py evidence_check`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from evidence.models import Document, EvidenceLink


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnly):
    list_display = [
        "filename",
        "case",
        "kind",
        "size",
        "integrity",
        "retained_until",
        "uploaded_at",
    ]
    list_filter = ["integrity", "kind"]
    search_fields = ["filename", "sha256", "storage_key", "case__unit__code"]
    list_select_related = ["case__cycle", "case__unit"]


@admin.register(EvidenceLink)
class EvidenceLinkAdmin(ReadOnly):
    list_display = ["case", "criterion", "version", "document", "note", "withdrawn_at"]
    search_fields = ["criterion__code", "document__filename", "case__unit__code"]
    list_select_related = ["case__cycle", "case__unit", "criterion", "document"]
