"""API routes of the workflow (criteria sets, cycles, cases, scores, questions, appraisal,
survey, units and accounts), included under /api/v1/."""

from django.urls import include, path

from workflow import api, api_appraisal, api_council, api_frameworks, api_people, api_survey

cycle_routes = [
    path("", api.CycleDetailView.as_view(), name="cycle-detail"),
    path("open/", api.CycleActionView.as_view(action_name="open"), name="cycle-open"),
    path("frameworks/", api.CycleFrameworkView.as_view(), name="cycle-frameworks"),
    path("council/", api_council.CouncilView.as_view(), name="cycle-council"),
    path(
        "council/members/",
        api_council.CouncilMemberListView.as_view(),
        name="cycle-council-members",
    ),
    path(
        "council/members/<int:member_id>/",
        api_council.CouncilMemberView.as_view(),
        name="cycle-council-member",
    ),
    path("council/areas/", api_council.CouncilAreaListView.as_view(), name="cycle-council-areas"),
    path(
        "council/areas/<int:row_id>/",
        api_council.CouncilAreaView.as_view(),
        name="cycle-council-area",
    ),
    path(
        "submit_results/",
        api.CycleActionView.as_view(action_name="submit_results"),
        name="cycle-submit-results",
    ),
    path("publish/", api.CycleActionView.as_view(action_name="publish"), name="cycle-publish"),
    path("assignments/", api_appraisal.AssignmentListView.as_view(), name="cycle-assignments"),
    path(
        "assignments/<int:assignment_id>/",
        api_appraisal.AssignmentDetailView.as_view(),
        name="cycle-assignment",
    ),
    path("worklist/", api_appraisal.WorklistView.as_view(), name="worklist"),
    path("survey/", api_survey.SurveyImportView.as_view(), name="survey"),
    *[
        path(
            f"survey/template.{kind}",
            api_survey.SurveyTemplateView.as_view(file_type=kind),
            name=f"survey-template-{kind}",
        )
        for kind in ("xlsx", "csv")
    ],
]

case_routes = [
    path("", api.CaseDetailView.as_view(), name="case-detail"),
    path("scores/<str:code>/", api.ScoreView.as_view(), name="case-score"),
    path(
        "scores/<str:code>/not-applicable/",
        api_appraisal.NotApplicableView.as_view(),
        name="case-score-not-applicable",
    ),
    path("transitions/<str:name>/", api.TransitionView.as_view(), name="case-transition"),
    path("clarifications/", api.ClarificationListView.as_view(), name="case-clarifications"),
    path("history/", api.HistoryView.as_view(), name="case-history"),
    path("appraisal/", api_appraisal.AppraisalView.as_view(), name="case-appraisal"),
]

framework_routes = [
    path("", api_frameworks.FrameworkDetailView.as_view(), name="framework-detail"),
    path("copy/", api_frameworks.FrameworkCopyView.as_view(), name="framework-copy"),
    path("renumber/", api_frameworks.FrameworkRenumberView.as_view(), name="framework-renumber"),
    path("criteria/", api_frameworks.CriterionListView.as_view(), name="framework-criteria"),
    path(
        "criteria/<str:code>/",
        api_frameworks.CriterionView.as_view(),
        name="framework-criterion",
    ),
]

urlpatterns = [
    path("frameworks/", api_frameworks.FrameworkListView.as_view(), name="framework-list"),
    path(
        "frameworks/template.xlsx",
        api_frameworks.FrameworkTemplateView.as_view(),
        name="framework-template",
    ),
    path(
        "frameworks/<int:pk>.xlsx",
        api_frameworks.FrameworkExportView.as_view(),
        name="framework-xlsx",
    ),
    path("frameworks/<int:pk>/", include(framework_routes)),
    path("cycles/", api.CycleListView.as_view(), name="cycle-list"),
    path("cycles/<int:pk>/", include(cycle_routes)),
    path("cases/", api.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/", include(case_routes)),
    path("clarifications/<int:pk>/answer/", api.AnswerView.as_view(), name="clarification-answer"),
    path("units/import/", api_people.UnitsImportView.as_view(), name="units-import"),
    path("units/template.xlsx", api_people.UnitsTemplateView.as_view(), name="units-template"),
    path(
        "units/<str:code>/correct-name/",
        api_people.UnitNameCorrectionView.as_view(),
        name="unit-name-correction",
    ),
]
