"""What is billed and what it costs, one module per concern.

accounts: clusters, accounts and namespace mappings (who pays); usage: jobs, their usage
per UTC hour and day, collection runs and data gaps (what was used); money: tariffs,
periods, statements, adjustments and SIFAC exports (what it costs); notices: the mails
sent to the accounts' contacts (statements, budget alerts); grid: the grid's carbon
intensity per hour (carbon of the GPU energy).

Usage is stored as numbers once collected and is never recomputed from Prometheus for a
closed period. Quantities are floats (double precision, about 15 significant digits);
money, computed later from them, is Decimal. What finance enters (accounts, mappings,
tariffs) is validated field by field with the rules of billing/sap_fields.py, so that the
imports, the admin and `full_clean` refuse what the statements or the SIFAC export would
refuse later. These modules import only the pure ones (billing/utc.py, resources.py,
sap_fields.py, field_validators.py).
"""

from billing.models.accounts import (
    NAMESPACE,
    RATE_CLASS,
    Account,
    Cluster,
    NamespaceAccount,
    split_addresses,
    split_groups,
    validate_contacts,
    validate_group_list,
)
from billing.models.grid import MAX_GCO2_PER_KWH, GridIntensity
from billing.models.money import (
    Adjustment,
    ExportBatch,
    ExportFile,
    Period,
    Statement,
    StatementJob,
    StatementLine,
    Tariff,
)
from billing.models.notices import BudgetAlert, StatementMail
from billing.models.usage import (
    CollectedHour,
    CollectionRun,
    DailyUsage,
    DataGap,
    GpuIdleEnergy,
    HourlyUsage,
    Job,
)

__all__ = [
    "MAX_GCO2_PER_KWH",
    "NAMESPACE",
    "RATE_CLASS",
    "Account",
    "Adjustment",
    "BudgetAlert",
    "Cluster",
    "CollectedHour",
    "CollectionRun",
    "DailyUsage",
    "DataGap",
    "ExportBatch",
    "ExportFile",
    "GpuIdleEnergy",
    "GridIntensity",
    "HourlyUsage",
    "Job",
    "NamespaceAccount",
    "Period",
    "Statement",
    "StatementJob",
    "StatementLine",
    "StatementMail",
    "Tariff",
    "split_addresses",
    "split_groups",
    "validate_contacts",
    "validate_group_list",
]
