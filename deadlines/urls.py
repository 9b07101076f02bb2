"""API routes of extensions and the calendar, included under /api/v1/."""

from django.urls import path

from deadlines import api

urlpatterns = [
    path("cases/<int:pk>/extensions/", api.CaseExtensionsView.as_view(), name="case-extensions"),
    path("calendar/", api.CalendarView.as_view(), name="calendar"),
    path("calendar/<str:day>/", api.CalendarDayView.as_view(), name="calendar-day"),
]
