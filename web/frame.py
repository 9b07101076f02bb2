"""The top bar of every page (brand, menu, account, language), written in Python.

Drawn by the template engine it cost about as much as the rest of a small page: some
twenty translate tags, ten URL reversals and the if-chains around them, on every request.
The markup is the one templates/base.html drew, byte for byte.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from notifications.delivery import UNREAD_COUNTED, bell_text

ID = 987654321  # where an object's id goes in a URL reversed once (see `url_for`)


@cache
def _reversed(name: str, args: tuple[object, ...], prefix: str, urlconf: str) -> str:
    """A URL reversed once per process: the same for the same script prefix and URL
    configuration."""
    return reverse(name, urlconf, args=list(args))


def url(name: str) -> str:
    """The URL of `name`, which takes no arguments."""
    return _reversed(name, (), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def url_for(name: str, pk: int, *rest: str) -> str:
    """The URL of `name` for the object `pk` (and any further text arguments): reversed once
    per process with a stand-in id, which each call replaces by its own."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    pattern = _reversed(name, (ID, *rest), get_script_prefix(), urlconf)
    return pattern.replace(str(ID), str(int(pk)), 1)


@cache
def _words(_language: str | None) -> dict[str, str]:
    """The bar's words in one language, translated and escaped once per process."""
    words = dict(
        title=_("PAR Index assessment"),
        main_menu=_("Main menu"),
        home=_("Home"),
        cycles=_("Cycles"),
        frameworks=_("Criteria sets"),
        people=_("Units and accounts"),
        sign_ins=_("Sign-ins"),
        notifications=_("Notifications"),
        unread=_("unread"),
        security=_("Account security"),
        sign_out=_("Sign out"),
        language=_("Language"),
    )
    return {key: escape(value) for key, value in words.items()}


def _current(name: str | None, *names: str) -> str:
    return ' aria-current="page"' if name is not None and name in names else ""


def csrf_input(context: Any) -> str:
    """What `{% csrf_token %}` writes."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'


def top_bar(context: Any, person: str) -> str:
    """The page's `<header class="top">`; `person` is the signed-in user's name, escaped."""
    w = _words(get_language())
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = getattr(match, "url_name", None)
    csrf = csrf_input(context)
    home = url("web:home")
    user = context.get("user")
    menu = ""
    if user is not None and user.is_authenticated:
        viewer = context.get("viewer")
        cycles = frameworks = people = sign_ins = ""
        if viewer is not None and viewer.sees_cycles:
            cycles = (
                f'<a href="{url("web:cycles")}"{_current(name, "cycles", "cycle")}>'
                f"{w['cycles']}</a>"
            )
            frameworks = (
                f'<a href="{url("web:frameworks")}"{_current(name, "frameworks", "framework")}>'
                f"{w['frameworks']}</a>"
            )
        if viewer is not None and viewer.manages_people:
            people = f'<a href="{url("web:people")}"{_current(name, "people")}>{w["people"]}</a>'
        if viewer is not None and viewer.watches_sign_ins:
            sign_ins = (
                f'<a href="{url("sign-in-watch")}"{_current(name, "sign-in-watch")}>'
                f"{w['sign_ins']}</a>"
            )
        unread = context.get("unread_count")
        count = bell_text(unread) if unread is not None else ""
        zero = "" if unread else " is-zero"
        menu = (
            f'\n      <nav class="main-nav" aria-label="{w["main_menu"]}">\n'
            f'        <a href="{home}"{_current(name, "home")}>{w["home"]}</a>\n'
            f"        {cycles}\n"
            f"        {frameworks}\n"
            f"        {people}\n"
            f"        {sign_ins}\n"
            f'        <a class="bell" href="{url("web:inbox")}" data-bell '
            f'data-bell-ws="/ws/notifications/" '
            f'data-bell-ticket="{url("notification-socket-ticket")}"{_current(name, "inbox")}>\n'
            f'          <svg class="bell-icon" viewBox="0 0 24 24" width="20" height="20" '
            f'aria-hidden="true" focusable="false"><path d="{BELL}"/></svg>\n'
            f"          <span>{w['notifications']}</span>\n"
            f'          <span class="bell-count{zero}" data-bell-count '
            f'data-bell-unread-label="{w["unread"]}" data-bell-most="{UNREAD_COUNTED - 1}" '
            f'aria-label="{count} {w["unread"]}">'
            f"{count}</span>\n"
            f"        </a>\n"
            f"      </nav>\n"
            f'      <div class="who">\n'
            f'        <span class="who-name">{person}</span>\n'
            f'        <a href="{url("account-security")}"{_current(name, "account-security")}>'
            f"{w['security']}</a>\n"
            f'        <form method="post" action="{url("logout")}">{csrf}\n'
            f'          <button type="submit" class="link-button">{w["sign_out"]}</button>\n'
            f"        </form>\n"
            f"      </div>\n"
            f"      "
        )
    path = escape(request.get_full_path()) if request is not None else ""
    language = context.get("LANGUAGE_CODE")
    vi = "true" if language == "vi" else "false"
    en = "true" if language == "en" else "false"
    return (
        f'<header class="top">\n'
        f'    <div class="top-inner">\n'
        f'      <a class="brand" href="{home}">\n'
        f'        <span class="brand-mark" aria-hidden="true">CCHC</span>\n'
        f"        <span>{w['title']}</span>\n"
        f"      </a>\n"
        f"      {menu}\n"
        f'      <form class="language" action="{url("set_language")}" method="post">{csrf}\n'
        f'        <input name="next" type="hidden" value="{path}">\n'
        f'        <span class="visually-hidden" id="language-label">{w["language"]}</span>\n'
        f'        <span role="group" aria-labelledby="language-label">\n'
        f'          <button type="submit" name="language" value="vi" lang="vi" '
        f'aria-pressed="{vi}">Tiếng Việt</button>\n'
        f'          <button type="submit" name="language" value="en" lang="en" '
        f'aria-pressed="{en}">English</button>\n'
        f"        </span>\n"
        f"      </form>\n"
        f"    </div>\n"
        f"  </header>"
    )


BELL = (
    "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3"
    "a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
)
