"""Read-only views for operators: what was said to whom, and what is still waiting to go out.
Rows change only through notifications.services and notifications.delivery."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import Delivery, Notification


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "channel",
        "status",
        "attempts",
        "delivered_at",
        "confirmed_at",
        "last_error",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ["created_at", "recipient", "kind", "case", "read_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__username", "case__unit__code"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient", "case__unit", "case__cycle"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["notification", "channel", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["notification__recipient"]
