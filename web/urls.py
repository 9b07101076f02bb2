from django.contrib.auth import views as auth_views
from django.urls import path

from web.views import (
    appraisal,
    cases,
    cycles,
    evidence,
    frameworks,
    history,
    home,
    inbox,
    results,
    secretariat,
)

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("cases/<int:pk>/", cases.sheet, name="case"),
    path("cases/<int:pk>/scores/<str:code>/", cases.save_self_score, name="self-score"),
    path("cases/<int:pk>/steps/<str:name>/", cases.transition, name="transition"),
    path("cases/<int:pk>/history/", cases.history, name="history"),
    path("cases/<int:pk>/extensions/", cases.extend, name="extend"),
    path("cases/<int:pk>/evidence/", evidence.upload, name="upload"),
    path("evidence/<int:pk>/withdraw/", evidence.withdraw, name="withdraw"),
    path("evidence/<int:pk>/link/", evidence.relink, name="relink"),
    path("cases/<int:pk>/appraisal/", appraisal.side_by_side, name="appraisal"),
    path("cases/<int:pk>/appraisal/<str:code>/", appraisal.save_appraisal, name="appraise"),
    path("cases/<int:pk>/agree-area/", appraisal.agree_area, name="agree-area"),
    path("cases/<int:pk>/questions/", appraisal.ask, name="ask"),
    path("questions/<int:pk>/answer/", appraisal.answer, name="answer"),
    path("cycles/", cycles.cycle_list, name="cycles"),
    path("cycles/<int:pk>/", cycles.overview, name="cycle"),
    path("cycles/<int:pk>/send-results/", cycles.submit_results, name="submit-results"),
    path("cycles/<int:pk>/steps/", cycles.bulk_step, name="bulk-step"),
    path("cycles/<int:pk>/publish/", cycles.publish, name="publish"),
    path("cycles/<int:pk>/survey/", secretariat.survey_import, name="survey"),
    path("cycles/<int:pk>/appraisers/", secretariat.appraisers, name="appraisers"),
    path(
        "cycles/<int:pk>/appraisers/<int:assignment_id>/remove/",
        secretariat.unassign,
        name="unassign",
    ),
    path("frameworks/", frameworks.framework_list, name="frameworks"),
    path("frameworks/import/", frameworks.framework_import, name="framework-import"),
    path("frameworks/<int:pk>/", frameworks.framework_detail, name="framework"),
    path("frameworks/<int:pk>/edit/", frameworks.framework_edit, name="framework-edit"),
    path("frameworks/<int:pk>/copy/", frameworks.framework_copy, name="framework-copy"),
    path("calendar/", secretariat.calendar, name="calendar"),
    path("calendar/<str:day>/remove/", secretariat.calendar_remove, name="calendar-remove"),
    path("cycles/<int:pk>/results/", results.ranking, name="results"),
    path("years/", history.province, name="years"),
    path("years/<str:code>/", history.unit, name="unit-years"),
    path("cycles/<int:pk>/results/<str:code>/", results.unit, name="result-unit"),
    path("cycles/<int:pk>/results/<str:code>/exclusion/", results.exclusion, name="exclusion"),
    path("notifications/", inbox.inbox, name="inbox"),
    path("notifications/<int:pk>/open/", inbox.open_notification, name="open-notification"),
    path("notifications/read-all/", inbox.read_all, name="read-all"),
    path("notifications/settings/", inbox.notification_settings, name="notification-settings"),
]

# Sign-in keeps Django's own names ("login", "logout") that settings and the admin use.
auth_urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
