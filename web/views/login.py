"""The login page: "Sign in with <provider>" first when a provider is configured, then the
password form unless KUBEMON_LOCAL_LOGIN is off (then a password is refused, 403)."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied

from web import oidc


class Login(auth_views.LoginView):
    template_name = "web/login.html"

    def post(self, request, *args, **kwargs):
        if not settings.KUBEMON_LOCAL_LOGIN:
            raise PermissionDenied("sign-in with a password is off")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            oidc=oidc.enabled(),
            provider=settings.KUBEMON_OIDC_PROVIDER_NAME,
            local_login=settings.KUBEMON_LOCAL_LOGIN,
            **kwargs,
        )
