"""API routes of the notifications app, included under /api/v1/."""

from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/", api.InboxView.as_view(), name="notification-list"),
    path("notifications/read_all/", api.ReadAllView.as_view(), name="notification-read-all"),
    path("notifications/settings/", api.SettingsView.as_view(), name="notification-settings"),
    path(
        "notifications/socket-ticket/",
        api.SocketTicketView.as_view(),
        name="notification-socket-ticket",
    ),
    path("notifications/<int:pk>/read/", api.ReadView.as_view(), name="notification-read"),
    path("cases/<int:pk>/notifications/", api.CaseNoticesView.as_view(), name="case-notices"),
]
