"""The admin: clusters, accounts and mappings, collection records, and the money side
(tariffs, periods, statements, adjustments, exports), read-only once a period is closed.

Accounts, mappings and tariffs are validated as the imports validate them: the models'
field rules (billing/sap_fields.py), and no change that would touch a closed month. Saving
what drafts are made of recomputes them after (billing/draft_admin.py)."""

from django import forms
from django.contrib import admin

from billing.draft_admin import RefreshesDrafts
from billing.ledger.mappings import check_mapping, deletion_problem
from billing.ledger.periods import closed_period_at
from billing.ledger.tariffs import check_tariff
from billing.models import (
    Account,
    Adjustment,
    BudgetAlert,
    Cluster,
    CollectedHour,
    CollectionRun,
    DataGap,
    ExportBatch,
    ExportFile,
    GpuIdleEnergy,
    GridIntensity,
    HourlyUsage,
    Job,
    NamespaceAccount,
    Period,
    Statement,
    StatementLine,
    StatementMail,
    Tariff,
)
from billing.utc import month_bounds


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class AccountForm(forms.ModelForm):
    """An account as the import checks it: the models' field rules (contacts, rate class,
    budget), and an empty language is the default one, as an empty `language` cell."""

    class Meta:
        model = Account
        fields = [
            "name",
            "description",
            "cost_center",
            "internal_order",
            "wbs_element",
            "members",
            "idp_groups",
            "contacts",
            "language",
            "rate_class",
            "budget_chf",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].required = False

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or Account._meta.get_field("language").default


@admin.register(Account)
class AccountAdmin(RefreshesDrafts):
    form = AccountForm
    list_display = [
        "name",
        "cost_center",
        "internal_order",
        "wbs_element",
        "rate_class",
        "budget_chf",
        "language",
        "description",
    ]
    list_filter = ["rate_class", "language"]
    search_fields = ["name", "cost_center", "internal_order", "wbs_element", "idp_groups"]
    filter_horizontal = ["members"]

    def changes_drafts(self, form, change: bool) -> bool:
        # A statement copies its account's receiver, and the account's rate class chooses
        # its tariffs; a new account has no statement yet.
        priced = {"cost_center", "internal_order", "wbs_element", "rate_class"}
        return change and bool(priced & set(form.changed_data))


class NamespaceAccountForm(forms.ModelForm):
    """A mapping as the import checks it: its fields, and no closed hour moved."""

    class Meta:
        model = NamespaceAccount
        fields = ["cluster", "namespace", "account", "valid_from", "valid_until"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            candidate = NamespaceAccount(
                pk=self.instance.pk, **{f: data.get(f) for f in self.Meta.fields}
            )
            check_mapping(candidate)
        return data


@admin.register(NamespaceAccount)
class NamespaceAccountAdmin(admin.ModelAdmin):
    form = NamespaceAccountForm
    list_display = ["cluster", "namespace", "account", "valid_from", "valid_until"]
    list_filter = ["cluster"]
    search_fields = ["namespace", "account__name"]
    autocomplete_fields = ["account"]

    # Also what the bulk delete asks of each mapping (get_deleted_objects).
    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and deletion_problem(obj))


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "namespace",
        "cluster",
        "parent_name",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["cluster", "kind"]
    search_fields = ["name", "namespace", "parent_name"]


@admin.register(HourlyUsage)
class HourlyUsageAdmin(RefreshesDrafts):
    month_field = "hour"
    list_display = ["job", "hour", "account", "cpu_core_seconds", "memory_byte_seconds"]
    list_filter = ["job__cluster", "account"]
    list_select_related = ["job__cluster", "account"]
    date_hierarchy = "hour"
    search_fields = ["job__name", "job__namespace"]
    raw_id_fields = ["job"]


@admin.register(CollectedHour)
class CollectedHourAdmin(RefreshesDrafts):
    month_field = "hour"  # a statement lists its month's hours not collected or flagged
    list_display = ["cluster", "hour", "collected_at", "run", "flagged"]
    list_filter = ["cluster", "flagged"]
    date_hierarchy = "hour"


@admin.register(CollectionRun)
class CollectionRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "cluster",
        "window_start",
        "window_end",
        "status",
        "hours_written",
        "queries",
        "query_seconds",
    ]
    list_filter = ["status", "cluster"]


@admin.register(DataGap)
class DataGapAdmin(admin.ModelAdmin):
    list_display = ["cluster", "exporter", "start", "end", "bridged", "run"]
    list_filter = ["cluster", "bridged"]
    date_hierarchy = "start"


# Money: tariffs, periods, statements, adjustments and exports. A closed period is
# read-only here, and so are its usage rows and the tariffs that priced it.


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows records that only commands write (statements, adjustments, exports)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TariffForm(forms.ModelForm):
    """A tariff as the import checks it: its shape (the model's clean, run after this one),
    and no change to a closed month."""

    class Meta:
        model = Tariff
        fields = [
            "resource",
            "rate_class",
            "unit",
            "price_chf",
            "policy",
            "valid_from",
            "activity_type",
        ]

    def clean(self):
        data = super().clean()
        if not self.errors:
            candidate = Tariff(pk=self.instance.pk, **{f: data.get(f) for f in self.Meta.fields})
            check_tariff(candidate)
        return data


@admin.register(Tariff)
class TariffAdmin(RefreshesDrafts):
    form = TariffForm
    list_display = [
        "resource",
        "rate_class",
        "unit",
        "price_chf",
        "policy",
        "valid_from",
        "activity_type",
    ]
    list_filter = ["resource", "rate_class"]

    def priced_a_closed_period(self, obj) -> bool:
        return bool(obj and obj.lines.filter(statement__period__status=Period.Status.CLOSED))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self.priced_a_closed_period(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (
            obj and (obj.lines.exists() or obj.adjustment_set.exists())
        )


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "closed_at", "forced"]


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    fields = ["kind", "resource", "quantity", "unit", "unit_price", "amount_chf", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["period", "account", "receiver_type", "receiver", "total_chf", "computed_at"]
    list_filter = ["period"]
    search_fields = ["account__name"]
    inlines = [StatementLineInline]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["period", "account", "resource", "quantity", "source_hour", "reason"]
    list_filter = ["period", "resource"]
    raw_id_fields = ["job"]


class ExportFileInline(admin.TabularInline):
    model = ExportFile
    fields = ["name", "sha256", "size"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ExportBatch)
class ExportBatchAdmin(ReadOnlyAdmin):
    list_display = ["number", "period", "format", "created_at"]
    list_filter = ["format"]
    inlines = [ExportFileInline]


@admin.register(StatementMail)
class StatementMailAdmin(ReadOnlyAdmin):
    """Who was mailed which statement (send_statements), for finance's questions."""

    list_display = ["statement", "addresses", "sent_at", "message_id"]
    list_filter = ["statement__period"]
    search_fields = ["statement__account__name", "addresses"]


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    """The budget alerts mailed (check_budgets): one per account, month and threshold."""

    list_display = ["account", "month", "threshold", "month_to_date_chf", "budget_chf", "sent_at"]
    list_filter = ["month", "threshold"]
    search_fields = ["account__name", "addresses"]


@admin.register(GpuIdleEnergy)
class GpuIdleEnergyAdmin(ReadOnlyAdmin):
    """The energy of GPUs no pod held, per node and hour, as collection wrote it (joules)."""

    list_display = ["cluster", "node", "hour", "joules"]
    list_filter = ["cluster", "node"]
    search_fields = ["node"]
    date_hierarchy = "hour"


@admin.register(GridIntensity)
class GridIntensityAdmin(ReadOnlyAdmin):
    """The grid's carbon intensity per hour, as import_grid_intensity wrote it."""

    list_display = ["hour", "gco2_per_kwh"]
    date_hierarchy = "hour"


class ClosedAwareHourlyUsageAdmin(HourlyUsageAdmin):
    """Usage rows of a closed period can be looked at, not changed."""

    def has_change_permission(self, request, obj=None):
        closed = obj is not None and closed_period_at(obj.hour)
        return super().has_change_permission(request, obj) and not closed

    def has_delete_permission(self, request, obj=None):
        closed = obj is not None and closed_period_at(obj.hour)
        return super().has_delete_permission(request, obj) and not closed

    def delete_queryset(self, request, queryset):
        for period in Period.objects.filter(status=Period.Status.CLOSED):
            start, end = month_bounds(period.month)
            queryset = queryset.exclude(hour__gte=start, hour__lt=end)
        super().delete_queryset(request, queryset)


admin.site.unregister(HourlyUsage)
admin.site.register(HourlyUsage, ClosedAwareHourlyUsageAdmin)
