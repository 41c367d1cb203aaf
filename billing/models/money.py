"""What it costs: tariffs, periods, statements with their lines, adjustments, SIFAC exports."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from billing import sap_fields as sap
from billing.field_validators import Rule, sifac_codes
from billing.models.accounts import RATE_CLASS, Account
from billing.models.usage import CollectionRun, Job
from billing.resources import RESOURCES, tariff_problem


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
    # The accounts it prices: those of this class; empty, every account of no class and of a
    # class without its own tariff of the resource (billing/ledger/pricing.py).
    rate_class = models.CharField(max_length=20, blank=True, validators=[RATE_CLASS])
    # When it was last saved: draft statements older than this are recomputed.
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resource", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "rate_class", "valid_from"], name="tariff_resource_class_from"
            ),
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
    # The part of `quantity` whose job-hours are flagged as estimates (GPU energy of MIG
    # slices and time-sliced GPUs: billing/resources.py `estimate_flag`), rounded alike; 0
    # for the other resources and for adjustment lines.
    estimated_quantity = models.DecimalField(max_digits=18, decimal_places=3, default=0)
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
