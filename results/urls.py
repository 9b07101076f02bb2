"""API routes of the results and their documents, included under /api/v1/."""

from django.urls import include, path

from results import api

cycle_routes = [
    path("results/", api.ResultsView.as_view(), name="results"),
    path("results.xlsx", api.ResultsXlsxView.as_view(), name="results-xlsx"),
    path("results.csv", api.ResultsCsvView.as_view(), name="results-csv"),
    path("results.json", api.ResultsJsonView.as_view(), name="results-json"),
    path("appraisal-report.docx", api.AppraisalReportView.as_view(), name="appraisal-report"),
    *[
        path(
            f"results-annex.{kind}",
            api.ResultsAnnexView.as_view(file_type=kind),
            name=f"results-annex-{kind}",
        )
        for kind in ("docx", "xlsx")
    ],
    path("rewards.xlsx", api.RewardsView.as_view(), name="rewards"),
    path("rewards.docx", api.RewardsView.as_view(file_type="docx"), name="rewards-docx"),
]

case_routes = [
    path("report.docx", api.CaseReportView.as_view(), name="case-report"),
    path("signed-report/", api.SignedReportView.as_view(), name="case-signed-report"),
    path("exclusion/", api.ExclusionView.as_view(), name="case-exclusion"),
]

urlpatterns = [
    path("cycles/<int:pk>/", include(cycle_routes)),
    path("cases/<int:pk>/", include(case_routes)),
    path("units/<str:code>/history/", api.UnitHistoryView.as_view(), name="unit-history"),
    path(
        "units/<str:code>/history.xlsx",
        api.UnitHistoryView.as_view(file_type="xlsx"),
        name="unit-history-xlsx",
    ),
    path("history/", api.ProvinceHistoryView.as_view(), name="province-history"),
    path(
        "history.xlsx",
        api.ProvinceHistoryView.as_view(file_type="xlsx"),
        name="province-history-xlsx",
    ),
]
