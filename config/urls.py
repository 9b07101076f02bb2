from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from config import auth_api
from deadlines import api as deadlines_api
from evidence import api as evidence_api
from results import api as results_api
from web.urls import auth_urlpatterns
from workflow import api, api_appraisal, api_survey

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", auth_api.TokenView.as_view(), name="token"),
    path("cycles/", api.CycleListView.as_view(), name="cycle-list"),
    path("cycles/<int:pk>/", api.CycleDetailView.as_view(), name="cycle-detail"),
    path(
        "cycles/<int:pk>/open/", api.CycleActionView.as_view(action_name="open"), name="cycle-open"
    ),
    path(
        "cycles/<int:pk>/submit_results/",
        api.CycleActionView.as_view(action_name="submit_results"),
        name="cycle-submit-results",
    ),
    path(
        "cycles/<int:pk>/publish/",
        api.CycleActionView.as_view(action_name="publish"),
        name="cycle-publish",
    ),
    path(
        "cycles/<int:pk>/assignments/",
        api_appraisal.AssignmentListView.as_view(),
        name="cycle-assignments",
    ),
    path(
        "cycles/<int:pk>/assignments/<int:assignment_id>/",
        api_appraisal.AssignmentDetailView.as_view(),
        name="cycle-assignment",
    ),
    path(
        "cycles/<int:pk>/frameworks/",
        api.CycleFrameworkView.as_view(),
        name="cycle-frameworks",
    ),
    path("cycles/<int:pk>/worklist/", api_appraisal.WorklistView.as_view(), name="worklist"),
    path("cycles/<int:pk>/survey/", api_survey.SurveyImportView.as_view(), name="survey"),
    path(
        "cycles/<int:pk>/survey/template.xlsx",
        api_survey.SurveyTemplateView.as_view(file_type="xlsx"),
        name="survey-template-xlsx",
    ),
    path(
        "cycles/<int:pk>/survey/template.csv",
        api_survey.SurveyTemplateView.as_view(file_type="csv"),
        name="survey-template-csv",
    ),
    path("cycles/<int:pk>/results/", results_api.ResultsView.as_view(), name="results"),
    path(
        "cycles/<int:pk>/results.xlsx", results_api.ResultsXlsxView.as_view(), name="results-xlsx"
    ),
    path("cycles/<int:pk>/results.csv", results_api.ResultsCsvView.as_view(), name="results-csv"),
    path(
        "cycles/<int:pk>/results.json", results_api.ResultsJsonView.as_view(), name="results-json"
    ),
    path(
        "cycles/<int:pk>/appraisal-report.docx",
        results_api.AppraisalReportView.as_view(),
        name="appraisal-report",
    ),
    path(
        "cycles/<int:pk>/results-annex.docx",
        results_api.ResultsAnnexView.as_view(file_type="docx"),
        name="results-annex-docx",
    ),
    path(
        "cycles/<int:pk>/results-annex.xlsx",
        results_api.ResultsAnnexView.as_view(file_type="xlsx"),
        name="results-annex-xlsx",
    ),
    path("cycles/<int:pk>/rewards.xlsx", results_api.RewardsView.as_view(), name="rewards"),
    path("cases/<int:pk>/report.docx", results_api.CaseReportView.as_view(), name="case-report"),
    path(
        "cases/<int:pk>/signed-report/",
        results_api.SignedReportView.as_view(),
        name="case-signed-report",
    ),
    path("units/<str:code>/history/", results_api.UnitHistoryView.as_view(), name="unit-history"),
    path(
        "units/<str:code>/history.xlsx",
        results_api.UnitHistoryView.as_view(file_type="xlsx"),
        name="unit-history-xlsx",
    ),
    path("history/", results_api.ProvinceHistoryView.as_view(), name="province-history"),
    path(
        "history.xlsx",
        results_api.ProvinceHistoryView.as_view(file_type="xlsx"),
        name="province-history-xlsx",
    ),
    path("cases/", api.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/", api.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/scores/<str:code>/", api.ScoreView.as_view(), name="case-score"),
    path(
        "cases/<int:pk>/scores/<str:code>/not-applicable/",
        api_appraisal.NotApplicableView.as_view(),
        name="case-score-not-applicable",
    ),
    path(
        "cases/<int:pk>/transitions/<str:name>/",
        api.TransitionView.as_view(),
        name="case-transition",
    ),
    path(
        "cases/<int:pk>/clarifications/",
        api.ClarificationListView.as_view(),
        name="case-clarifications",
    ),
    path("cases/<int:pk>/history/", api.HistoryView.as_view(), name="case-history"),
    path("cases/<int:pk>/appraisal/", api_appraisal.AppraisalView.as_view(), name="case-appraisal"),
    path("cases/<int:pk>/exclusion/", results_api.ExclusionView.as_view(), name="case-exclusion"),
    path("clarifications/<int:pk>/answer/", api.AnswerView.as_view(), name="clarification-answer"),
    path(
        "cases/<int:pk>/extensions/",
        deadlines_api.CaseExtensionsView.as_view(),
        name="case-extensions",
    ),
    path("calendar/", deadlines_api.CalendarView.as_view(), name="calendar"),
    path("calendar/<str:day>/", deadlines_api.CalendarDayView.as_view(), name="calendar-day"),
    path("", include("notifications.urls")),
    path(
        "cases/<int:pk>/evidence/",
        evidence_api.CaseEvidenceView.as_view(),
        name="case-evidence",
    ),
    path(
        "cases/<int:pk>/evidence/links/",
        evidence_api.CaseEvidenceLinkView.as_view(),
        name="case-evidence-links",
    ),
    path(
        "evidence/links/<int:pk>/withdraw/",
        evidence_api.WithdrawView.as_view(),
        name="evidence-withdraw",
    ),
    path(
        "evidence/<int:pk>/download/",
        evidence_api.DownloadView.as_view(),
        name="evidence-download",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("i18n/", include("django.conf.urls.i18n")),
    *auth_urlpatterns,
    path("", include("web.urls")),
]

# A lost database answers 503 "try again" instead of a 500 (ops/unavailable.py).
handler500 = "ops.unavailable.server_error"
# Under /api/ these answer in the API's JSON error format (ops/errors.py).
handler400 = "ops.errors.bad_request"
handler403 = "ops.errors.permission_denied"
handler404 = "ops.errors.page_not_found"
