"""What is billed: clusters, accounts, jobs, and each job's usage per UTC hour.

Usage is stored as numbers once collected and is never recomputed from Prometheus for a
closed period. Quantities are floats (double precision, about 15 significant digits);
money, computed later from them, is Decimal.

What finance enters (accounts, mappings, tariffs) is validated field by field with the
rules of billing/sap_fields.py, so that the imports, the admin and `full_clean` refuse what
the statements or the SIFAC export would refuse later.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from billing import sap_fields as sap
from billing.field_validators import Rule, sifac_codes
from billing.resources import RESOURCES, tariff_problem

# A Kubernetes namespace name (RFC 1123 label); anchored, as RegexValidator searches.
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


class Cluster(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


def split_groups(text: str) -> list[str]:
    """A `|`-separated list of IdP groups, blanks dropped."""
    return [g.strip() for g in text.split("|") if g.strip()]


def validate_group_list(text: str):
    for group in split_groups(text):
        if len(group) > 256 or any(c in group for c in "\n\r"):
            raise ValidationError(f"{group[:40]!r} is not a group name (one line, 256 at most)")


class Account(models.Model):
    """Who pays: a lab or unit, with its receiver object in SIFAC.

    A charge goes to exactly one receiver: a cost centre, an internal order or a WBS
    element (EOTP). The one account without a receiver is "unassigned", which collects
    the usage of namespaces that map to no account until finance sorts them out.
    """

    UNASSIGNED = "unassigned"

    # Named in every SEG_TEXT of the export: its validator derives the room left there.
    name = models.CharField(max_length=100, unique=True, validators=[Rule("account_name")])
    description = models.CharField(max_length=200, blank=True)
    cost_center = models.CharField(
        "cost centre", max_length=10, blank=True, validators=[Rule("cctr")]
    )
    internal_order = models.CharField(max_length=12, blank=True, validators=[Rule("order")])
    wbs_element = models.CharField(
        "WBS element (EOTP)", max_length=24, blank=True, validators=[Rule("wbs")]
    )
    # Who may see the account's usage; staff see every account.
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="accounts")
    # The identity provider's groups whose members see the account, `|`-separated as in
    # import_accounts' `groups` column: set at every sign-in from the groups claim
    # (web/oidc.py). A few per account, matched in Python, so one text field suffices.
    idp_groups = models.TextField(
        "IdP groups",
        blank=True,
        help_text="Groups of the identity provider whose members see this account, separated "
        "by |. Membership follows them at every sign-in.",
        validators=[validate_group_list],
    )

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

    def group_list(self) -> list[str]:
        return split_groups(self.idp_groups)

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
    namespace = models.CharField(
        max_length=63,
        validators=[RegexValidator(NAMESPACE, "not a Kubernetes namespace name")],
    )
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

    def clean(self):
        # Whether it would move a closed month's hours is the ledger's question
        # (billing.ledger.mappings.check_mapping, asked by the import and the admin).
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "must be after valid_from"})
        account = self.account if self._meta.get_field("account").is_cached(self) else None
        if account is None and self.account_id:
            account = Account.objects.filter(pk=self.account_id).first()
        if account is not None and account.name == Account.UNASSIGNED:
            raise ValidationError(
                {"account": "'unassigned' is not an account a namespace can be mapped to"}
            )


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


# Money: tariffs, periods, statements and SIFAC exports (docs/billing.md).


class Tariff(models.Model):
    """The price of one unit of a resource from `valid_from` until the resource's next tariff."""

    class Policy(models.TextChoices):
        USAGE = "usage"
        REQUEST = "request"
        MAX = "max", "max(usage, request) per job-hour"

    resource = models.CharField(max_length=20, choices=[(r, r) for r in RESOURCES])
    unit = models.CharField(max_length=20)
    price_chf = models.DecimalField(
        "price (CHF per unit)", max_digits=14, decimal_places=6, validators=[Rule("price")]
    )
    policy = models.CharField(max_length=10, choices=Policy)
    valid_from = models.DateTimeField()
    # SAP activity type (ACTTYPE, 6 characters), one of KUBEMON_SIFAC_ACTIVITY_TYPES; empty
    # means the resource's own there.
    activity_type = models.CharField(max_length=6, blank=True, validators=[Rule("activity_type")])
    # When it was last saved: draft statements older than this are recomputed.
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resource", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "valid_from"], name="tariff_resource_from"),
            models.CheckConstraint(name="tariff_price_not_negative", condition=Q(price_chf__gte=0)),
        ]

    def __str__(self):
        return f"{self.resource} {self.price_chf} CHF/{self.unit} from {self.valid_from:%Y-%m-%d}"

    def clean(self):
        # Whether it would change a closed month is the ledger's question
        # (billing.ledger.tariffs.check_tariff, asked by the import and the admin).
        if problem := tariff_problem(self) or self.codes_problem():
            self.refuse(problem)

    def codes_problem(self) -> str:
        """Why the export could not post this tariff's lines with today's settings, or ''."""
        try:
            activity_types, units = sifac_codes()
        except ValueError as e:
            return str(e)
        return sap.tariff_codes_problem(self.resource, self.activity_type, activity_types, units)

    def refuse(self, problem: str):
        """Raise `problem` (`field: why`) as a ValidationError on that field."""
        field, _, message = problem.partition(": ")
        known = field in {f.name for f in self._meta.fields}
        raise ValidationError({field: message} if known else problem)


class Period(models.Model):
    """A calendar month (UTC): open while its statements are drafts, then closed for good."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    month = models.DateField(unique=True, help_text="first day of the month")
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Closed with --force although some hours were not collected.
    forced = models.BooleanField(default=False)

    class Meta:
        ordering = ["month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Statement(models.Model):
    """What one account owes for one period: a draft until the period closes."""

    period = models.ForeignKey(Period, models.PROTECT, related_name="statements")
    account = models.ForeignKey(Account, models.PROTECT, related_name="statements")
    # The receiver as it was when the statement was last computed, frozen with the period.
    receiver_type = models.CharField(max_length=5, blank=True)
    receiver = models.CharField(max_length=24, blank=True)
    total_chf = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField()
    # {cluster: [[start, end], ...]} ranges of UTC hours not collected / flagged.
    missing_hours = models.JSONField(default=dict, blank=True)
    flagged_hours = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["period", "account__name"]
        constraints = [
            models.UniqueConstraint(fields=["period", "account"], name="statement_period_account")
        ]

    def __str__(self):
        return f"{self.period} {self.account}"


class StatementLine(models.Model):
    """One priced line: a resource at one tariff, or an adjustment from a closed period."""

    class Kind(models.TextChoices):
        USAGE = "usage"
        ADJUSTMENT = "adjustment"

    statement = models.ForeignKey(Statement, models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.USAGE)
    resource = models.CharField(max_length=20)
    tariff = models.ForeignKey(Tariff, models.PROTECT, related_name="lines")
    unit = models.CharField(max_length=20)
    # Rounded half-up to 3 decimals (SAP's QUAN 15,3); amount = quantity x price, half-up.
    quantity = models.DecimalField(max_digits=18, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=6)
    amount_chf = models.DecimalField(max_digits=14, decimal_places=2)
    # The UTC hours [first_hour, end_hour) whose usage the line prices.
    first_hour = models.DateTimeField()
    end_hour = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    # The collection runs that collected the line's job-hours (usage lines), kept when the
    # line is computed: the audit trail of a line is then a read.
    runs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["statement", "kind", "resource", "first_hour"]

    def __str__(self):
        return f"{self.statement} {self.resource} {self.quantity} {self.unit}"


class StatementJob(models.Model):
    """A job's share of a statement line: the per-job detail, traced to its job-hours."""

    line = models.ForeignKey(StatementLine, models.CASCADE, related_name="jobs")
    job = models.ForeignKey(Job, models.PROTECT)
    quantity = models.DecimalField(max_digits=24, decimal_places=9)
    hours = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.line} {self.job}"


class Adjustment(models.Model):
    """Usage collected late for an hour of a closed period, billed in a later open period.

    `quantity` is the difference, in the tariff's unit, between what the new collection
    found and what was billed (plus earlier adjustments) for the job in that hour.
    """

    period = models.ForeignKey(Period, models.PROTECT, related_name="adjustments")
    source_hour = models.DateTimeField()
    job = models.ForeignKey(Job, models.PROTECT)
    account = models.ForeignKey(Account, models.PROTECT)
    resource = models.CharField(max_length=20)
    tariff = models.ForeignKey(Tariff, models.PROTECT)
    quantity = models.DecimalField(max_digits=24, decimal_places=9)
    reason = models.CharField(max_length=500)
    run = models.ForeignKey(CollectionRun, models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["source_hour"])]

    def __str__(self):
        return f"{self.period} {self.account} {self.resource} {self.quantity} ({self.source_hour})"


class ExportBatch(models.Model):
    """One numbered SIFAC export of a closed period in one format."""

    number = models.PositiveIntegerField(unique=True)
    period = models.ForeignKey(Period, models.PROTECT, related_name="exports")
    format = models.CharField(max_length=10)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"batch {self.number} {self.period} {self.format}"


class ExportFile(models.Model):
    batch = models.ForeignKey(ExportBatch, models.CASCADE, related_name="files")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()

    def __str__(self):
        return self.name
