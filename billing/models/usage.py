"""What was used: jobs, their usage per UTC hour and per day, collection runs and data gaps."""

from django.db import models

from billing.models.accounts import Account, Cluster


class Job(models.Model):
    """The workload that owns pods, or a PersistentVolumeClaim billed as its own item."""

    cluster = models.ForeignKey(Cluster, models.PROTECT)
    namespace = models.CharField(max_length=63)
    kind = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    parent_kind = models.CharField(max_length=63, blank=True)
    parent_name = models.CharField(max_length=253, blank=True)
    # Who ran it: the pod label named by KUBEMON_USER_LABEL (Run:ai's `user`, say), as last
    # seen on the job's pods; empty when the setting is empty or the pods lack the label.
    user = models.CharField(max_length=253, blank=True)
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

    # No index of its own: the unique (job, hour) serves a job's rows and bounds them by hour.
    job = models.ForeignKey(Job, models.PROTECT, related_name="usage", db_index=False)
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
    # GPU energy and activity (billing/collection/energy.py): shown; the energy billed
    # only where a `gpu_energy` tariff is in force (billing/resources.py).
    gpu_energy_joules = models.FloatField(default=0)
    gpu_busy_seconds = models.FloatField(default=0)
    gpu_idle_seconds = models.FloatField(default=0)
    # The energy is an estimate: a MIG instance's slice or a time-sliced GPU's share.
    gpu_energy_estimated = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "hour"], name="usage_job_hour")]
        # (account, hour): an account's usage over a range, for its pages and lab members.
        # (job, account): which accounts a job was billed to, and whether a lab may see a
        # job, answered from the index alone (one probe per job and account).
        indexes = [
            models.Index(fields=["hour"]),
            models.Index(fields=["account", "hour"]),
            models.Index(fields=["job", "account"]),
        ]

    def __str__(self):
        return f"{self.job} {self.hour:%Y-%m-%d %H:00}"


class DailyUsage(models.Model):
    """The hourly usage of one UTC day summed per cluster, namespace and account.

    Pages and charts read this roll-up instead of millions of hourly rows; it is rewritten
    from HourlyUsage whenever an hour of its day is (billing/collection/rollup.py).
    `*_max_*` sums, per job-hour, the larger of usage and request: what the `max` tariff
    policy bills.
    """

    day = models.DateField()
    cluster = models.ForeignKey(Cluster, models.CASCADE)
    namespace = models.CharField(max_length=63)
    account = models.ForeignKey(Account, models.PROTECT)
    jobs = models.PositiveIntegerField(default=0)
    # Hourly rows summed (a job's hour counts once): what /metrics counts on `unassigned`.
    job_hours = models.PositiveIntegerField(default=0)
    cpu_core_seconds = models.FloatField(default=0)
    cpu_request_core_seconds = models.FloatField(default=0)
    cpu_max_core_seconds = models.FloatField(default=0)
    memory_byte_seconds = models.FloatField(default=0)
    memory_request_byte_seconds = models.FloatField(default=0)
    memory_max_byte_seconds = models.FloatField(default=0)
    gpu_seconds = models.FloatField(default=0)
    gpu_memory_mib_seconds = models.FloatField(default=0)
    storage_byte_seconds = models.FloatField(default=0)
    network_rx_bytes = models.FloatField(default=0)
    network_tx_bytes = models.FloatField(default=0)
    gpu_energy_joules = models.FloatField(default=0)
    gpu_busy_seconds = models.FloatField(default=0)
    gpu_idle_seconds = models.FloatField(default=0)
    # Job-hours whose GPU energy is an estimate (HourlyUsage.gpu_energy_estimated).
    gpu_energy_estimated_hours = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "cluster", "namespace", "account"], name="daily_usage_key"
            )
        ]
        indexes = [models.Index(fields=["account", "day"]), models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.day} {self.cluster}/{self.namespace} {self.account}"


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
    # The run failed because Prometheus did not answer (unreachable, 5xx, timeout).
    prometheus_unreachable = models.BooleanField(default=False)

    class Meta:
        # Each cluster's last run, for /metrics (billing/collection/health.py).
        indexes = [models.Index(fields=["cluster", "started_at"])]

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


class GpuIdleEnergy(models.Model):
    """Energy of a node's GPUs that no pod held in one UTC hour, in joules: for ops, never
    billed (billing/collection/energy.py). Unheld GPUs, unheld MIG slices, the intervals
    around a hand-over that no holder covered."""

    cluster = models.ForeignKey(Cluster, models.CASCADE)
    node = models.CharField(max_length=253)
    hour = models.DateTimeField()
    joules = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "node", "hour"], name="gpu_idle_cluster_node_hour"
            )
        ]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self):
        return f"{self.cluster}/{self.node} {self.hour:%Y-%m-%d %H:00}"
