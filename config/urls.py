from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from config import auth_api, auth_pages

# Each app owns its API routes; the token endpoint is the configuration's own.
api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", auth_api.TokenView.as_view(), name="token"),
    path("", include("workflow.urls")),
    path("", include("results.urls")),
    path("", include("deadlines.urls")),
    path("", include("notifications.urls")),
    path("", include("evidence.urls")),
]

urlpatterns = [
    # The admin signs in through the same pages (the second factor included).
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="login", query_string=True),
        name="admin-login",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Sign-in keeps Django's own names ("login", "logout") that settings and the admin use.
    path("login/", auth_pages.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/second-factor/", auth_pages.second_factor, name="second-factor"),
    path("login/second-factor/setup/", auth_pages.second_factor_setup, name="second-factor-setup"),
    path("account/security/", auth_pages.account_security, name="account-security"),
    path("security/sign-ins/", auth_pages.sign_in_watch, name="sign-in-watch"),
    path("", include("web.urls")),
]

# A lost database answers 503 "try again" instead of a 500 (ops/unavailable.py).
handler500 = "ops.unavailable.server_error"
# Under /api/ these answer in the API's JSON error format (ops/errors.py).
handler400 = "ops.errors.bad_request"
handler403 = "ops.errors.permission_denied"
handler404 = "ops.errors.page_not_found"
