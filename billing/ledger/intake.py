"""What collection hands the ledger: the one door from billing.collection into money.

Collection stores usage; it never prices. It asks here whether an hour belongs to a closed
month (and holds that month's lock while it writes the hour), hands over a closed month's
late hour to become adjustments, and asks for the open months' drafts to be recomputed
after a run. Nothing else of billing.ledger is imported by billing.collection
(tests/test_architecture.py).
"""

from datetime import datetime

from billing.ledger.adjustments import LateUsage, record_late_hour
from billing.ledger.drafts import refresh_open_drafts
from billing.ledger.periods import lock_period_at
from billing.ledger.statements import PricingError
from billing.models import Cluster, CollectionRun

__all__ = ["LateUsage", "PricingError", "hour_is_closed", "late_hour", "refresh_drafts"]


def hour_is_closed(hour: datetime) -> bool:
    """Whether `hour` belongs to a closed month; its period stays locked until the
    caller's transaction ends, so that the month cannot close while the hour is written."""
    return lock_period_at(hour).is_closed


def late_hour(cluster: Cluster, hour: datetime, usage: LateUsage, run: CollectionRun) -> int:
    """Record a closed month's hour collected again as adjustments; return how many."""
    return record_late_hour(cluster, hour, usage, run)


def refresh_drafts(start: datetime, end: datetime, now: datetime) -> list:
    """Recompute the drafts of the open months that [start, end) touches; return their
    periods. Raises PricingError when usage has no tariff (the usage stays stored)."""
    return refresh_open_drafts(start, end, now)
