"""The inbox: the user's notifications, newest first; opening one marks it read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import DomainError, NotFound
from cases.users import SignedInRequest
from notifications import rules, services
from notifications.models import NotificationSettings
from web.forms import NotificationSettingsForm
from web.shortcuts import back_to

PAGE = 100


@login_required
def inbox(request: SignedInRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    rows = services.inbox(request.user, unread_only=unread_only)[:PAGE]
    return render(request, "web/inbox.html", {"notifications": rows, "unread_only": unread_only})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def open_notification(request: SignedInRequest, pk: int) -> HttpResponse:
    """Follow a notification's link; the first opening is its proof of notice.

    So only the user's own act marks it read: a POST (CSRF-checked), or a GET the browser
    says came from this site's own page (`Sec-Fetch-Site: same-origin`, the inbox's link).
    A GET from anywhere else (another site, a mail, a browser that does not say) changes
    nothing: it shows the notification with a button that POSTs.
    """
    own_page = request.headers.get("Sec-Fetch-Site") == "same-origin"
    if request.method != "POST" and not own_page:
        row = services.inbox(request.user).filter(pk=pk).first()
        if row is None:
            raise Http404
        return render(request, "web/notification_open.html", {"notification": row})
    try:
        row = services.mark_read(request.user, pk)
    except NotFound:
        raise Http404 from None
    link = row.link or ""
    if not url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        link = ""
    return HttpResponseRedirect(link or back_to("web:inbox").url)


@login_required
@require_POST
def read_all(request: SignedInRequest) -> HttpResponse:
    services.mark_all_read(request.user)
    return back_to("web:inbox")


@login_required
def notification_settings(request: SignedInRequest) -> HttpResponse:
    """Which kinds of notification also come by e-mail, and in which language (the inbox
    always gets every one). The form types the language, then one call to
    `notifications.services.update_settings`, all or nothing; either refusal is shown above
    the form."""
    current = services.settings_of(request.user)
    errors: list[str] = []
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        wanted = set(request.POST.getlist("email"))
        email = {row["kind"]: row["kind"] in wanted for row in current["email"]}
        if not form.is_valid():
            errors = [services.not_changed(), *(str(e) for e in form.errors["language"])]
        else:
            change = services.SettingsChange(form.cleaned_data["language"], email)
            try:
                services.update_settings(request.user, change)
            except DomainError as error:
                errors = [str(error.message), *(str(e) for e in error.errors)]
            else:
                messages.success(request, _("Your notification settings were saved."))
                return back_to("web:notification-settings")
        current = {
            "language": request.POST.get("language"),
            "email": [{**row, "enabled": email[row["kind"]]} for row in current["email"]],
        }
    language = get_language() or "vi"
    kinds = [
        {**row, "label": rules.kind_for(row["kind"]).label_in(language)} for row in current["email"]
    ]
    context = {
        "language": current["language"],
        "languages": NotificationSettings.Language.choices,
        "kinds": kinds,
        "errors": errors,
    }
    return render(request, "web/notification_settings.html", context, status=400 if errors else 200)
