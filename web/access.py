"""Who may see what: the roles of the pages and the API, and the rows each user may read.

Roles are Django groups. `finance` sees everything and acts on periods and exports; `ops`
sees all usage, live metrics and collection health but no statements or exports; anyone
else sees only the accounts they are a member of (`Account.members`). Staff are treated as
finance. Another account's object is answered as if it did not exist (404), so that ids
tell nothing; a page a role may not open at all is a 403. Collection records (data gaps,
hours not collected or flagged, which name clusters and nodes) are a lab's to see only for
the clusters where its accounts have usage or namespace mappings.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery

from billing.ledger.coverage import clusters_of
from billing.models import (
    Account,
    Cluster,
    ExportBatch,
    HourlyUsage,
    Job,
    Statement,
)

FINANCE = "finance"
OPS = "ops"


def group_names(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_kubemon_groups"):
        user._kubemon_groups = set(user.groups.values_list("name", flat=True))
    return user._kubemon_groups


def member_of(user) -> list[int]:
    """The ids of the accounts the user is a member of, read once per request."""
    if not hasattr(user, "_kubemon_accounts"):
        user._kubemon_accounts = list(
            Account.objects.filter(members=user).values_list("pk", flat=True)
        )
    return user._kubemon_accounts


def is_finance(user) -> bool:
    return user.is_authenticated and (user.is_staff or FINANCE in group_names(user))


def is_ops(user) -> bool:
    return user.is_authenticated and OPS in group_names(user)


def sees_every_account(user) -> bool:
    return is_finance(user) or is_ops(user)


def sees_statements(user) -> bool:
    """Finance, and account members for their own accounts; ops do not handle bills."""
    return user.is_authenticated and (is_finance(user) or not is_ops(user))


def require_finance(user):
    if not is_finance(user):
        raise PermissionDenied("finance only")


def require_ops(user):
    """Live metrics and collection health: ops and finance."""
    if not sees_every_account(user):
        raise PermissionDenied("ops and finance only")


def visible_accounts(user) -> QuerySet[Account]:
    accounts = Account.objects.all()
    if sees_every_account(user):
        return accounts
    return accounts.filter(members=user)


def visible_usage(user) -> QuerySet[HourlyUsage]:
    usage = HourlyUsage.objects.all()
    if sees_every_account(user):
        return usage
    return usage.filter(account_id__in=member_of(user))


def visible_jobs(user) -> QuerySet[Job]:
    """Jobs billed, at least for one hour, to an account the user may see."""
    jobs = Job.objects.all()
    if sees_every_account(user):
        return jobs
    # A scalar subquery of the account on literal account ids: one probe of the (job,
    # account) index per job, read from the index alone. PostgreSQL plans an EXISTS over
    # the membership join as a join over every hour of the user's accounts instead.
    billed = HourlyUsage.objects.filter(job=OuterRef("pk"), account_id__in=member_of(user))
    return jobs.annotate(billed_to=Subquery(billed.values("account_id")[:1])).filter(
        billed_to__isnull=False
    )


def visible_clusters(user) -> QuerySet[Cluster] | None:
    """The clusters whose collection records the user may see; None: every cluster (finance
    and ops)."""
    return None if sees_every_account(user) else clusters_of(member_of(user))


def statement_clusters(user, statement: Statement) -> QuerySet[Cluster] | None:
    """The clusters whose missing and flagged hours a statement shows the user: every one to
    finance, the clusters of the statement's account to its members."""
    return None if is_finance(user) else clusters_of([statement.account_id])


def visible_statements(user) -> QuerySet[Statement]:
    statements = Statement.objects.select_related("period", "account")
    if is_finance(user):
        return statements
    if not sees_statements(user):
        return statements.none()
    return statements.filter(account__members=user)


def visible_exports(user) -> QuerySet[ExportBatch]:
    batches = ExportBatch.objects.select_related("period")
    return batches if is_finance(user) else batches.none()
