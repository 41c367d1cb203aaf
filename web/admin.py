"""The admin's view of personal API tokens: who holds which, and revoking a leaked one.

Tokens are made by their owners on /tokens/ (the key is shown to them only); the admin
can neither make one nor change one, only see them and revoke them.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from web.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created", "expires", "last_used", "revoked"]
    list_filter = ["revoked", "expires"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = list_display
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        queryset.filter(revoked=None).update(revoked=timezone.now())
