"""The first secretariat account of a fresh installation (non-interactive friendly)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cases.permissions import SECRETARIAT, ensure_role_groups
from workflow import audit


class Command(BaseCommand):
    help = (
        "Create a secretariat account (staff, may use the admin). The password comes from "
        "SECRETARIAT_PASSWORD or a prompt and must pass the password validators."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--full-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} exists already.")
        password = os.environ.get("SECRETARIAT_PASSWORD") or getpass.getpass("Password: ")
        user = User(username=username, email=options["email"])
        first, _sep, last = options["full_name"].rpartition(" ")
        user.first_name, user.last_name = (first, last) if first else (last, "")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            ensure_role_groups()
            user.set_password(password)
            user.is_staff = True
            user.save()
            user.groups.add(Group.objects.get(name=SECRETARIAT))
            # The first account has no one above it: it is its own author in the trail.
            audit.record(
                audit.ACCOUNT_CREATED,
                actor=user,
                obj=user,
                data={"user": username, "email": user.email, "role": SECRETARIAT},
            )
        self.stdout.write(f"Secretariat account {username!r} created.")
