"""API of the results: the ranking, its Excel table, open data, the leader's exclusions.

Who sees results (cases.permissions): anyone, signed in or not, once the cycle is published;
before, the secretariat, the leader and the auditor (a unit that can see the cycle gets 403,
anyone else 404). The honesty signal goes only to those `may_view_honesty` admits.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import NotAllowed, NotFound
from cases.models import Cycle
from results import exports, ranking, services
from workflow.api import CSV, XLSX, _body, _visible_cycles, attachment


def results_cycle(user: Any, pk: int) -> Cycle:
    """The cycle whose results this user may read now; 404 / 403 as the module says."""
    cycle = Cycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise NotFound(_("This cycle does not exist or you may not see it."))
    if cycle.status == Cycle.Status.PUBLISHED or permissions.may_view_provisional_results(user):
        return cycle
    if user.is_authenticated and _visible_cycles(user).filter(pk=pk).exists():
        raise NotAllowed(_("The results of this cycle are not published yet."))
    raise NotFound(_("This cycle does not exist or you may not see it."))


class _ResultsBase(APIView):
    permission_classes = [AllowAny]

    def _results(self, request: Request, pk: int) -> ranking.CycleResults:
        return ranking.compute_results(results_cycle(request.user, pk))


class ResultsView(_ResultsBase):
    """Ranking per unit group: rank, unit, score (the index), group (A/B/C/D), excluded."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        computed = self._results(request, pk)
        return Response(
            exports.as_payload(
                computed,
                private=permissions.may_view_provisional_results(request.user),
                honesty=permissions.may_view_honesty(request.user),
            )
        )


def _name(cycle: Cycle, ext: str) -> str:
    return f"ket-qua-chi-so-cchc-{cycle.year}-{cycle.pk}.{ext}"


class ResultsXlsxView(_ResultsBase):
    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        content = exports.to_xlsx(computed, honesty=permissions.may_view_honesty(request.user))
        return attachment(content, _name(computed.cycle, "xlsx"), XLSX)


class ResultsCsvView(_ResultsBase):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        return attachment(exports.to_csv(computed), _name(computed.cycle, "csv"), CSV)


class ResultsJsonView(_ResultsBase):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> HttpResponse:
        computed = self._results(request, pk)
        response = HttpResponse(exports.to_json(computed), content_type="application/json")
        response["Content-Disposition"] = f'inline; filename="{_name(computed.cycle, "json")}"'
        return response


ReasonInput = inline_serializer("ReasonInput", {"reason": serializers.CharField()})


class ExclusionView(APIView):
    """POST {reason}: the leader takes the unit out of the ranking. DELETE {reason}: back in."""

    @extend_schema(request=ReasonInput, responses={201: None})
    def post(self, request: Request, pk: int) -> Response:
        exclusion = services.exclude_from_ranking(
            pk, str(_body(request).get("reason", "") or ""), actor=request.user
        )
        return Response(
            {
                "case": exclusion.case_id,
                "excluded": True,
                "reason": exclusion.reason,
                "decided_by": request.user.username,
                "decided_at": exclusion.decided_at,
            },
            status=201,
        )

    @extend_schema(request=ReasonInput, responses={200: None})
    def delete(self, request: Request, pk: int) -> Response:
        case = services.reinstate_in_ranking(
            pk, str(_body(request).get("reason", "") or ""), actor=request.user
        )
        return Response({"case": case.pk, "excluded": False})
