"""Pages, the login, API tokens, the language switch, the health checks and self-metrics."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from web.views import (
    accounts,
    exports,
    health,
    jobs,
    live,
    metrics,
    overview,
    statements,
    tokens,
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", overview.overview, name="overview"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/<int:pk>/", accounts.account, name="account"),
    path("accounts/<int:pk>/jobs.csv", accounts.jobs_csv, name="account-jobs-csv"),
    path("jobs/<int:pk>/", jobs.job, name="job"),
    path("statements/", statements.statement_list, name="statements"),
    path("statements/<int:pk>/", statements.statement, name="statement"),
    path("exports/", exports.export_list, name="exports"),
    path("exports/files/<int:pk>", exports.download, name="export-file"),
    path("live/", live.live, name="live"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke", tokens.revoke, name="token-revoke"),
]
