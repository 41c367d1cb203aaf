"""Who pays: clusters, accounts (a lab or unit with its SIFAC receiver) and namespace mappings."""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, validate_email
from django.db import models
from django.db.models import Q

from billing.field_validators import Rule

NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


class Cluster(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


def split_groups(text: str) -> list[str]:
    """A `|`-separated list of IdP groups, blanks dropped."""
    return [g.strip() for g in text.split("|") if g.strip()]


def split_addresses(text: str) -> list[str]:
    """A `|`-separated list of e-mail addresses, blanks dropped."""
    return [a.strip() for a in text.split("|") if a.strip()]


def validate_contacts(text: str):
    for address in split_addresses(text):
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{address[:80]!r} is not an e-mail address") from None


# A rate class: a short code naming a user category (SCITAS' U.1, U.2, U.3, say).
RATE_CLASS = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}\Z",
    "a rate class is a short code: up to 20 letters, digits, '.', '_' or '-'",
)


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
    # Who receives the account's monthly statement and budget alerts (send_statements,
    # check_budgets), `|`-separated as in import_accounts' `contacts` column.
    contacts = models.TextField(
        blank=True,
        help_text="E-mail addresses that receive the monthly statement and the budget "
        "alerts, separated by |.",
        validators=[validate_contacts],
    )
    language = models.CharField(
        max_length=2,
        choices=[("en", "English"), ("fr", "Français")],
        default="en",
        help_text="The language of the account's statements and mails.",
    )
    rate_class = models.CharField(
        max_length=20,
        blank=True,
        validators=[RATE_CLASS],
        help_text="Tariffs of this class price the account; empty: the tariffs without a class.",
    )
    budget_chf = models.DecimalField(
        "monthly budget (CHF)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Mails at 80 % and 100 % of it, and when the month-end forecast passes it.",
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

    def contact_list(self) -> list[str]:
        return split_addresses(self.contacts)

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
