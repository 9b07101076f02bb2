"""Evidence endpoints under /api/v1/. Thin: the permission helper and one service call.

The upload view installs its own upload handler before DRF authenticates the request (a
session-authenticated POST is parsed by the CSRF check already), and refuses what it can
before the body is read: an unknown case, a user who may not add evidence, a frozen case.
"""

from __future__ import annotations

from typing import Any

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import InvalidInput
from cases.inputs import MultiPartFormParser, StrictJSONParser, text, validated
from cases.users import SignedInApiRequest
from evidence import services
from evidence.models import Document, EvidenceLink
from evidence.uploads import EvidenceUploadHandler


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "filename",
            "sha256",
            "size",
            "content_type",
            "kind",
            "uploaded_by",
            "uploaded_at",
            "retained_until",
            "integrity",
            "download_url",
        ]

    def get_download_url(self, document: Document) -> str:
        return reverse("evidence-download", args=[document.pk])


class LinkSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.code")
    current = serializers.BooleanField(source="is_current")
    created_by = serializers.CharField(source="created_by.username")
    withdrawn_by = serializers.CharField(source="withdrawn_by.username", allow_null=True)
    document = DocumentSerializer()

    class Meta:
        model = EvidenceLink
        fields = [
            "id",
            "criterion",
            "version",
            "note",
            "current",
            "created_by",
            "created_at",
            "withdrawn_at",
            "withdrawn_by",
            "withdraw_reason",
            "document",
        ]


class UploadedSerializer(DocumentSerializer):
    """The 201 answer to an upload: the stored file, and the version it became."""

    link = serializers.SerializerMethodField()

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "link"]

    def get_link(self, document: Document) -> dict[str, Any]:
        return link_summary(self.context["link"])


def link_summary(link: EvidenceLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "criterion": link.criterion.code,
        "version": link.version,
        "note": link.note,
    }


# One serializer's fields, made once: a ModelSerializer builds its fields from the model on
# every instance, which cost an upload more CPU than writing its three rows. Writing out an
# instance changes nothing in the serializer, so requests share it.
_DOCUMENT = DocumentSerializer()


def uploaded(link: EvidenceLink) -> dict[str, Any]:
    """What `UploadedSerializer` writes for the link's document."""
    return {**_DOCUMENT.to_representation(link.document), "link": link_summary(link)}


class OneText(serializers.CharField):
    """A text sent once: form data that repeats the field (a list) or sends a file in its
    place is refused naming it, where DRF would take the last value or the file's name."""

    def get_value(self, dictionary: Any) -> Any:
        if isinstance(dictionary, QueryDict):
            sent = dictionary.getlist(self.field_name or "")
            if len(sent) > 1:
                return sent
        return super().get_value(dictionary)


class UploadFields(serializers.Serializer):
    """The texts beside an uploaded file, typed before the service sees them."""

    criterion = OneText(required=False, allow_blank=True, allow_null=True)
    note = OneText(required=False, allow_blank=True, allow_null=True, help_text="section / page")


class UploadInput(UploadFields):
    file = serializers.FileField()


class LinkInput(serializers.Serializer):
    document = serializers.IntegerField(min_value=1)
    criterion = text()
    note = text()


WithdrawInput = inline_serializer("WithdrawInput", {"reason": text()})


class CaseEvidenceView(APIView):
    parser_classes = [MultiPartFormParser]

    upload_handler: EvidenceUploadHandler | None = None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":
            self.upload_handler = EvidenceUploadHandler(request, case_id=kwargs.get("pk"))
            request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if self.upload_handler is not None:
            self.upload_handler.close()  # no object left behind by a refused request
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        parameters=[OpenApiParameter("current", bool, description="only versions not withdrawn")],
        responses=LinkSerializer(many=True),
    )
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        case = permissions.get_case_for_user(request.user, pk)
        current = request.query_params.get("current", "") in ("1", "true")
        rows = services.case_evidence(case, current_only=current)
        return Response(LinkSerializer(rows, many=True).data)

    @extend_schema(request=UploadInput, responses={201: UploadedSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        case = services.check_may_add(pk, request.user)
        assert self.upload_handler is not None
        self.upload_handler.allow(case)  # the file may now go to the store as it arrives
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(_("Attach the file."))
        # Read once the body has arrived: a refusal here leaves the object unclaimed, and
        # `finalize_response` deletes it.
        fields = validated(request, UploadFields)
        link = services.add_evidence(
            pk,
            fields.get("criterion") or "",
            upload,
            actor=request.user,
            filename=upload.name or "",
            size=upload.size,
            note=fields.get("note") or "",
        )
        return Response(uploaded(link), status=201)


class CaseEvidenceLinkView(APIView):
    parser_classes = [StrictJSONParser, FormParser, MultiPartFormParser]

    @extend_schema(request=LinkInput, responses={201: LinkSerializer})
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        try:
            data = validated(request, LinkInput)
        except ValidationError:
            permissions.get_case_for_user(request.user, pk)  # a case out of sight: 404 first
            raise
        link = services.link_document(
            pk,
            data["document"],
            data.get("criterion") or "",
            actor=request.user,
            note=data.get("note") or "",
        )
        return Response(LinkSerializer(_reload(link)).data, status=201)


class WithdrawView(APIView):
    @extend_schema(request=WithdrawInput, responses=LinkSerializer)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        reason = validated(request, WithdrawInput).get("reason") or ""
        link = services.withdraw_link(pk, actor=request.user, reason=reason)
        return Response(LinkSerializer(_reload(link)).data)


class DownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            302: OpenApiResponse(description="redirect to a short-lived download URL"),
        }
    )
    def get(self, request: SignedInApiRequest, pk: int) -> HttpResponseBase:
        download = services.open_download(pk, actor=request.user)
        document = download.document
        response: HttpResponseBase
        if download.url is not None:
            response = HttpResponseRedirect(download.url)
        else:
            response = FileResponse(
                download.stream,
                as_attachment=True,
                filename=document.filename,
                content_type=document.content_type,
            )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _reload(link: EvidenceLink) -> EvidenceLink:
    return EvidenceLink.objects.select_related(
        "document", "document__uploaded_by", "criterion", "created_by", "withdrawn_by"
    ).get(pk=link.pk)
