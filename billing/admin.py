from django.contrib import admin

from billing.models import (
    Account,
    Cluster,
    CollectedHour,
    CollectionRun,
    DataGap,
    HourlyUsage,
    Job,
    NamespaceAccount,
)


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "cost_center", "internal_order", "wbs_element", "description"]
    search_fields = ["name", "cost_center", "internal_order", "wbs_element"]
    filter_horizontal = ["members"]


@admin.register(NamespaceAccount)
class NamespaceAccountAdmin(admin.ModelAdmin):
    list_display = ["cluster", "namespace", "account", "valid_from", "valid_until"]
    list_filter = ["cluster"]
    search_fields = ["namespace", "account__name"]
    autocomplete_fields = ["account"]


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
class HourlyUsageAdmin(admin.ModelAdmin):
    list_display = ["job", "hour", "account", "cpu_core_seconds", "memory_byte_seconds"]
    list_filter = ["job__cluster", "account"]
    list_select_related = ["job__cluster", "account"]
    date_hierarchy = "hour"
    search_fields = ["job__name", "job__namespace"]
    raw_id_fields = ["job"]


@admin.register(CollectedHour)
class CollectedHourAdmin(admin.ModelAdmin):
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
