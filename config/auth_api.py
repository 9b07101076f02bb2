"""The API's sign-in: POST a username and password for a token, DELETE to revoke it.

Apart from `config.auth` (the authentication class DRF's settings import) so that importing
the settings does not import DRF's views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from cases.inputs import StrictJSONParser
from cases.users import signed_in
from config import auth_guard
from config.auth import fresh_token


class TokenView(ObtainAuthToken):
    """POST {username, password} → {"token": "…"}; send it as `Authorization: Token …`.

    Tokens expire after API_TOKEN_TTL_DAYS (a new sign-in issues a fresh one); DELETE revokes
    the caller's token. Failed sign-ins count towards the lock-out of the login page.
    """

    parser_classes = [StrictJSONParser, FormParser, MultiPartParser]

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(
        request=inline_serializer(
            "TokenInput", {"username": serializers.CharField(), "password": serializers.CharField()}
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
        token = fresh_token(user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Token.objects.filter(user=signed_in(request.user)).delete()
        return Response(status=204)
