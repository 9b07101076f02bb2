"""The inbox API, the user's notification settings, and the proof of notice on a case.
Thin views: the caller's own rows or `cases.permissions`, one service call, a serializer."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import permissions
from cases.errors import InvalidInput, NotAllowed
from cases.users import SignedInApiRequest, display_name
from notifications import services, sockets
from notifications.delivery import UNREAD_COUNTED
from notifications.models import Delivery, Notification, NotificationSettings


class NotificationSerializer(serializers.ModelSerializer):
    text = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "case",
            "text",
            "text_vi",
            "text_en",
            "link",
            "created_at",
            "read_at",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "channel",
            "status",
            "attempts",
            "delivered_at",
            "confirmed_at",
            "next_attempt_at",
            "last_error",
        ]


class NoticeSerializer(serializers.ModelSerializer):
    """One notification about a case with what became of it: proof of notice."""

    recipient = serializers.CharField(source="recipient.username")
    recipient_name = serializers.SerializerMethodField()
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "recipient",
            "recipient_name",
            "text_vi",
            "text_en",
            "created_at",
            "read_at",
            "event",
            "deliveries",
        ]

    def get_recipient_name(self, n: Notification) -> str:
        return display_name(n.recipient)


SettingsSerializer = inline_serializer(
    "NotificationSettings",
    {
        "language": serializers.ChoiceField(choices=["vi", "en"]),
        "email": inline_serializer(
            "EmailSetting",
            {
                "kind": serializers.CharField(),
                "label": serializers.CharField(),
                "enabled": serializers.BooleanField(),
            },
            many=True,
        ),
    },
)


class LanguageInput(serializers.ChoiceField):
    """The language of notifications, refused in the words the settings always used."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=NotificationSettings.Language.values, **kwargs)

    def to_internal_value(self, data: Any) -> NotificationSettings.Language:
        if not isinstance(data, str) or data not in NotificationSettings.Language.values:
            raise ValidationError(
                _("Unknown language “%(value)s”: use vi or en.") % {"value": data}
            )
        return NotificationSettings.Language(data)


class EmailInput(serializers.DictField):
    """Kind → e-mail on or off: a JSON object of true/false, each kind one the user may set
    (`services.email_kinds`, given in the context); every problem named at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.BooleanField(), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, bool]:
        if not isinstance(data, dict):
            raise ValidationError(_("“email” must map each kind to true or false."))
        known = self.context["kinds"]
        errors = []
        for code, enabled in data.items():
            if code not in known:
                errors.append(services.unknown_kind(code))
            if not isinstance(enabled, bool):
                errors.append(_("E-mail for “%(kind)s” must be true or false.") % {"kind": code})
        if errors:
            raise ValidationError(errors)
        return dict(data)


class NotificationSettingsInput(serializers.Serializer):
    language = LanguageInput(required=False, allow_null=True)
    email = EmailInput(required=False, help_text="kind → e-mail on/off")


def settings_change(request: SignedInApiRequest) -> services.SettingsChange:
    """The body typed as the settings service takes it; a 400 naming each field's problem
    under "The notification settings were not changed." otherwise."""
    reader = NotificationSettingsInput(
        data=request.data, context={"kinds": services.email_kinds(request.user)}
    )
    if not reader.is_valid():
        errors = [
            f"{name}: {message}" if name != "non_field_errors" else str(message)
            for name, messages in reader.errors.items()
            for message in messages
        ]
        raise InvalidInput(services.not_changed(), errors)
    data = reader.validated_data
    return services.SettingsChange(language=data.get("language"), email=data.get("email", {}))


UNREAD = (
    f"the caller's unread notifications, counted up to {UNREAD_COUNTED} (the exact number is "
    "the `count` of `?unread=true`)"
)


class InboxPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200
    unread = 0  # the caller's unread count, set by the view before it paginates

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread"] = self.unread
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["unread"] = {"type": "integer", "description": UNREAD}
        return result


InboxPage = inline_serializer(
    "InboxPage",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": NotificationSerializer(many=True),
        "unread": serializers.IntegerField(help_text=UNREAD),
    },
)


class InboxView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("unread", bool, description="only unread ones"),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        # The paginated page with the unread count, as InboxPagination writes it.
        responses=InboxPage,
    )
    def get(self, request: SignedInApiRequest) -> Response:
        """The caller's notifications, newest first, with the unread count."""
        unread_only = request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        paginator = InboxPagination()
        paginator.unread = services.unread_count(request.user)
        page = paginator.paginate_queryset(
            services.inbox(request.user, unread_only=unread_only), request, view=self
        )
        return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)


class ReadView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: SignedInApiRequest, pk: int) -> Response:
        return Response(NotificationSerializer(services.mark_read(request.user, pk)).data)


ReadAllOutput = inline_serializer(
    "ReadAllOutput",
    {"marked": serializers.IntegerField(), "unread": serializers.IntegerField(help_text=UNREAD)},
)


class ReadAllView(APIView):
    @extend_schema(request=None, responses=ReadAllOutput)
    def post(self, request: SignedInApiRequest) -> Response:
        marked = services.mark_all_read(request.user)
        return Response({"marked": marked, "unread": services.unread_count(request.user)})


class SettingsView(APIView):
    @extend_schema(responses=SettingsSerializer)
    def get(self, request: SignedInApiRequest) -> Response:
        return Response(services.settings_of(request.user))

    @extend_schema(request=NotificationSettingsInput, responses=SettingsSerializer)
    def put(self, request: SignedInApiRequest) -> Response:
        return Response(services.update_settings(request.user, settings_change(request)))

    patch = put


class CaseNoticesView(APIView):
    @extend_schema(responses=NoticeSerializer(many=True))
    def get(self, request: SignedInApiRequest, pk: int) -> Response:
        """Who was told what about the case, when it reached them and when they read it."""
        case = permissions.get_case_for_user(request.user, pk, "view_audit")
        return Response(NoticeSerializer(services.notices_of_case(case), many=True).data)


SocketTicketOutput = inline_serializer(
    "SocketTicket",
    {"ticket": serializers.CharField(), "expires_at": serializers.DateTimeField()},
)


class TooManyTickets(Throttled):
    """429 with Retry-After; the message names the wait itself, in the user's language."""

    wait: float | None

    def __init__(self, wait: int, detail: str) -> None:
        super().__init__(detail=detail)
        self.wait = wait


class SocketTicketView(APIView):
    @extend_schema(request=None, responses={201: SocketTicketOutput, 429: None})
    def post(self, request: SignedInApiRequest) -> Response:
        """A single-use ticket to open /ws/notifications/?ticket=… before `expires_at`. The
        socket stays open while the session or token this request came with signs you in."""
        # Any credential the API accepts has a kind in sockets.KINDS; a test's forced
        # authentication has none.
        credential = sockets.credential_of(request)
        if credential is None:
            raise NotAllowed(_("Sign in with a session or an API token to open the live push."))
        wait = sockets.ticket_wait(request.user, timezone.now())
        if wait:
            raise TooManyTickets(
                wait,
                ngettext(
                    "Too many requests to open the live push: try again in %(count)d second.",
                    "Too many requests to open the live push: try again in %(count)d seconds.",
                    wait,
                )
                % {"count": wait},
            )
        ticket = sockets.issue_ticket(request.user, *credential)
        return Response({"ticket": ticket.value, "expires_at": ticket.expires_at}, status=201)
