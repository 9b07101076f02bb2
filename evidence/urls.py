"""API routes of the evidence store, included under /api/v1/."""

from django.urls import path

from evidence import api

urlpatterns = [
    path("cases/<int:pk>/evidence/", api.CaseEvidenceView.as_view(), name="case-evidence"),
    path(
        "cases/<int:pk>/evidence/links/",
        api.CaseEvidenceLinkView.as_view(),
        name="case-evidence-links",
    ),
    path("evidence/links/<int:pk>/withdraw/", api.WithdrawView.as_view(), name="evidence-withdraw"),
    path("evidence/<int:pk>/download/", api.DownloadView.as_view(), name="evidence-download"),
]
