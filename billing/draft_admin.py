"""The admin's part in keeping draft statements current: recompute them after a write.

Tariffs, accounts (their receivers and rate classes), usage rows and collected hours are what
an open month's drafts are made of (billing/ledger/drafts.py). Their admins derive from
RefreshesDrafts, which recomputes the drafts right after a save or deletion: every open
month's, or, for rows of an hour (`month_field`), the months of the rows before and after the
change. A month that cannot be priced is a warning message; the save stands.
"""

from datetime import UTC, date

from django.contrib import admin, messages
from django.utils import timezone

from billing.ledger.drafts import refresh_open_periods


class RefreshesDrafts(admin.ModelAdmin):
    # The time field whose month's drafts a row is part of; empty: every open month's.
    month_field = ""

    def changes_drafts(self, form, change: bool) -> bool:
        """Whether a save through `form` changes what drafts are made of."""
        return True

    def draft_months(self, rows) -> set[date]:
        if not self.month_field:
            return set()
        return {t.date() for t in rows.datetimes(self.month_field, "month", tzinfo=UTC)}

    def refresh_drafts(self, request, months: set[date]):
        chosen = sorted(months) if self.month_field else None
        for problem in refresh_open_periods(timezone.now(), chosen):
            self.message_user(request, problem, messages.WARNING)

    def save_model(self, request, obj, form, change):
        rows = self.model.objects.filter(pk=obj.pk)
        left = self.draft_months(rows)  # a row moved to another hour leaves its month
        super().save_model(request, obj, form, change)
        if self.changes_drafts(form, change):
            self.refresh_drafts(request, left | self.draft_months(rows))

    def delete_model(self, request, obj):
        months = self.draft_months(self.model.objects.filter(pk=obj.pk))
        super().delete_model(request, obj)
        self.refresh_drafts(request, months)

    def delete_queryset(self, request, queryset):
        months = self.draft_months(queryset)
        super().delete_queryset(request, queryset)
        self.refresh_drafts(request, months)
