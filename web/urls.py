"""Pages, the login, API tokens, the language switch, the health checks and self-metrics."""

from django.urls import include, path
from mozilla_django_oidc import views as oidc_views

from web import oidc
from web.views import (
    accounts,
    exports,
    gpus,
    health,
    jobs,
    live,
    login,
    metrics,
    overview,
    statements,
    tokens,
    workbooks,
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("login/", login.Login.as_view(), name="login"),
    # Ends the provider's session too when the user came from it (web/oidc.py).
    path("logout/", oidc_views.OIDCLogoutView.as_view(), name="logout"),
    path("oidc/authenticate/", oidc.Authenticate.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.Callback.as_view(), name="oidc_authentication_callback"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", overview.overview, name="overview"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/<int:pk>/", accounts.account, name="account"),
    path("accounts/<int:pk>/jobs.csv", accounts.jobs_csv, name="account-jobs-csv"),
    path("jobs/<int:pk>/", jobs.job, name="job"),
    path("statements/", statements.statement_list, name="statements"),
    path("statements/<int:pk>/", statements.statement, name="statement"),
    path(
        "statements/<str:month>.xlsx",
        workbooks.statements_workbook_download,
        name="statements-workbook",
    ),
    path("statements/<int:pk>/pdf", statements.statement_pdf_download, name="statement-pdf"),
    path("exports/", exports.export_list, name="exports"),
    path("exports/files/<int:pk>", exports.download, name="export-file"),
    path("live/", live.live, name="live"),
    path("gpus/idle/", gpus.idle_gpus, name="idle-gpus"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke", tokens.revoke, name="token-revoke"),
]
