"""What is billed: clusters, accounts, jobs, and each job's usage per UTC hour.

Usage is stored as numbers once collected and is never recomputed from Prometheus for a
closed period. Quantities are floats (double precision, about 15 significant digits);
money, computed later from them, is Decimal.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

QUANTITIES = (
    "cpu_core_seconds",
    "cpu_request_core_seconds",
    "memory_byte_seconds",
    "memory_request_byte_seconds",
    "gpu_seconds",
    "gpu_memory_mib_seconds",
    "storage_byte_seconds",
    "network_rx_bytes",
    "network_tx_bytes",
)


class Cluster(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


class Account(models.Model):
    """Who pays: a lab or unit, with its receiver object in SIFAC.

    A charge goes to exactly one receiver: a cost centre, an internal order or a WBS
    element (EOTP). The one account without a receiver is "unassigned", which collects
    the usage of namespaces that map to no account until finance sorts them out.
    """

    UNASSIGNED = "unassigned"

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=200, blank=True)
    cost_center = models.CharField("cost centre", max_length=10, blank=True)
    internal_order = models.CharField(max_length=12, blank=True)
    wbs_element = models.CharField("WBS element (EOTP)", max_length=24, blank=True)
    # Who may see the account's usage; staff see every account.
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="accounts")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="account_has_exactly_one_receiver",
                condition=(
                    Q(name="unassigned")
                    | Q(cost_center__gt="", internal_order="", wbs_element="")
                    | Q(cost_center="", internal_order__gt="", wbs_element="")
                    | Q(cost_center="", internal_order="", wbs_element__gt="")
                ),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def receiver(self) -> tuple[str, str]:
        """Return (kind, id) of the SIFAC receiver, kind one of cctr, order, wbs."""
        for kind, value in (
            ("cctr", self.cost_center),
            ("order", self.internal_order),
            ("wbs", self.wbs_element),
        ):
            if value:
                return kind, value
        return "", ""

    def clean(self):
        set_ = [v for v in (self.cost_center, self.internal_order, self.wbs_element) if v]
        if self.name != self.UNASSIGNED and len(set_) != 1:
            raise ValidationError(
                "Set exactly one receiver: a cost centre, an internal order or a WBS element."
            )


class NamespaceAccount(models.Model):
    """An admin mapping of a namespace to an account, valid over [valid_from, valid_until).

    It takes precedence over the namespace label read from kube_namespace_labels.
    """

    cluster = models.ForeignKey(Cluster, models.CASCADE)
    namespace = models.CharField(max_length=63)
    account = models.ForeignKey(Account, models.PROTECT)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["cluster", "namespace"])]
        constraints = [
            models.CheckConstraint(
                name="namespace_account_valid_range",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
            )
        ]

    def __str__(self):
        return f"{self.cluster}/{self.namespace} → {self.account}"


class Job(models.Model):
    """The workload that owns pods, or a PersistentVolumeClaim billed as its own item."""

    cluster = models.ForeignKey(Cluster, models.PROTECT)
    namespace = models.CharField(max_length=63)
    kind = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    parent_kind = models.CharField(max_length=63, blank=True)
    parent_name = models.CharField(max_length=253, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "kind", "name"], name="job_identity"
            )
        ]

    def __str__(self):
        return f"{self.cluster}/{self.namespace}/{self.kind}/{self.name}"


class HourlyUsage(models.Model):
    """What one job used in one UTC hour [hour, hour + 1 h), charged to one account."""

    job = models.ForeignKey(Job, models.PROTECT, related_name="usage")
    hour = models.DateTimeField()
    account = models.ForeignKey(Account, models.PROTECT)
    cpu_core_seconds = models.FloatField(default=0)
    cpu_request_core_seconds = models.FloatField(default=0)
    memory_byte_seconds = models.FloatField(default=0)
    memory_request_byte_seconds = models.FloatField(default=0)
    gpu_seconds = models.FloatField(default=0)
    gpu_memory_mib_seconds = models.FloatField(default=0)
    storage_byte_seconds = models.FloatField(default=0)
    network_rx_bytes = models.FloatField(default=0)
    network_tx_bytes = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "hour"], name="usage_job_hour")]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self):
        return f"{self.job} {self.hour:%Y-%m-%d %H:00}"


class CollectedHour(models.Model):
    """Marks an hour of a cluster as fully collected; written with its usage rows."""

    cluster = models.ForeignKey(Cluster, models.CASCADE)
    hour = models.DateTimeField()
    run = models.ForeignKey("CollectionRun", models.SET_NULL, null=True)
    collected_at = models.DateTimeField()
    # An hour overlapped by a data gap longer than KUBEMON_MAX_BRIDGED_GAP: what the gap
    # hid is not billed, and statements show the hour as flagged.
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "hour"], name="collected_cluster_hour")
        ]

    def __str__(self):
        return f"{self.cluster} {self.hour:%Y-%m-%d %H:00}"


class CollectionRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    cluster = models.CharField(max_length=100, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    hours_written = models.PositiveIntegerField(default=0)
    queries = models.PositiveIntegerField(default=0)
    query_seconds = models.FloatField(default=0)
    error = models.TextField(blank=True)

    def __str__(self):
        return f"{self.window_start:%Y-%m-%d %H:%M}–{self.window_end:%H:%M} {self.status}"


class DataGap(models.Model):
    """A stretch of time without samples from one exporter, longer than two scrape intervals.

    `start` is the exporter's last sample before the gap, `end` its first sample after it
    (or the end of what was read, while it has not come back). A gap up to
    KUBEMON_MAX_BRIDGED_GAP is bridged: objects seen on both sides are billed through it.
    """

    cluster = models.ForeignKey(Cluster, models.CASCADE)
    run = models.ForeignKey(CollectionRun, models.SET_NULL, null=True, related_name="gaps")
    exporter = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    bridged = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "exporter", "start"], name="gap_cluster_exporter_start"
            )
        ]
        indexes = [models.Index(fields=["cluster", "end"])]

    def __str__(self):
        return f"{self.cluster} {self.exporter} {self.start:%Y-%m-%d %H:%M:%S}–{self.end:%H:%M:%S}"
