"""The user model as the code types it, and the signed-in user of a request.

The project keeps Django's own user model (no AUTH_USER_MODEL), so `User` is that model.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.request import Request

from cases.errors import NotAllowed

__all__ = [
    "AnonymousUser",
    "SignedInApiRequest",
    "SignedInRequest",
    "User",
    "display_name",
    "display_name_from",
    "signed_in",
]


def signed_in(user: User | AnonymousUser) -> User:
    """The request's user where signing in is required (behind login or IsAuthenticated)."""
    if isinstance(user, User):
        return user
    raise NotAllowed(_("Sign in first."))


class SignedInRequest(HttpRequest):
    """A page request behind `login_required`: its user is a User (for the type checker)."""

    user: User


class SignedInApiRequest(Request):
    """An API request behind IsAuthenticated, the API's default: its user is a User."""

    user: User


def display_name(user: User) -> str:
    """How a person is named on pages, documents and in the API: full name, else username."""
    return display_name_from(user.first_name, user.last_name, user.username)


def display_name_from(first_name: str, last_name: str, username: str) -> str:
    """`display_name` from the user's columns, for rows read with `values_list` (Django's
    `get_full_name` is first and last name, stripped)."""
    return f"{first_name} {last_name}".strip() or username
