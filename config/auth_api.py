"""The API's sign-in: POST a username and password for a token, DELETE to revoke it.

Apart from `config.auth` (the authentication class DRF's settings import) so that importing
the settings does not import DRF's views.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from cases.inputs import MultiPartFormParser, StrictJSONParser
from cases.users import User, signed_in
from config import auth_guard
from config import auth_two_factor as two_factor
from config.auth import fresh_token


class TokenView(ObtainAuthToken):
    """POST {username, password} → {"token": "…"}; send it as `Authorization: Token …`.

    Tokens expire after API_TOKEN_TTL_DAYS (a new sign-in issues a fresh one); DELETE revokes
    the caller's token. Failed sign-ins count towards the lock-out of the login page. An
    account with two-factor sign-in also sends `otp`, its authenticator's code.
    """

    parser_classes = [StrictJSONParser, FormParser, MultiPartFormParser]

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(
        request=inline_serializer(
            "TokenInput",
            {
                "username": serializers.CharField(),
                "password": serializers.CharField(),
                "otp": serializers.CharField(
                    required=False,
                    help_text="The authenticator's code (or a recovery code), for an account "
                    "with two-factor sign-in.",
                ),
            },
        ),
        responses=inline_serializer("TokenOutput", {"token": serializers.CharField()}),
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The Django request goes to authenticate(), so that the sign-in lock-out middleware
        # sees a locked-out attempt (it cannot see flags set on DRF's wrapper).
        serializer = self.serializer_class(data=request.data, context={"request": request._request})
        if not serializer.is_valid():
            seconds = auth_guard.waiting(request._request)
            if seconds:
                response = Response({"detail": auth_guard.wait_message(seconds), "errors": []})
                return auth_guard.with_retry_after(response, seconds)
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        auth_guard.signed_in_ok(user.get_username())
        if two_factor.needs_second_factor(user):
            code = request.data.get("otp") if isinstance(request.data, dict) else None
            refused = self._second_factor_refusal(user, code)
            if refused is not None:
                return refused
        token = fresh_token(user)
        return Response({"token": token.key})

    def _second_factor_refusal(self, user: User, code: Any) -> Response | None:
        """None when the code is right; else why no token (the pages set an authenticator up)."""
        if two_factor.authenticator(user) is None:
            raise PermissionDenied(
                _(
                    "Two-factor sign-in is required for your account: set up your authenticator "
                    "app by signing in on the pages first."
                )
            )
        if not isinstance(code, str) or not code.strip():
            raise ValidationError(
                {"otp": [_("Send the code of your authenticator app (or a recovery code).")]}
            )
        verdict = two_factor.check_code(user, code)
        if verdict.device is not None:
            return None
        if verdict.wait:
            response = Response({"detail": two_factor.wrong_code_message(verdict), "errors": []})
            return auth_guard.with_retry_after(response, verdict.wait)
        raise ValidationError({"otp": [two_factor.wrong_code_message(verdict)]})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Token.objects.filter(user=signed_in(request.user)).delete()
        return Response(status=204)
