"""What is stored per job-hour, and which stored quantity each billed resource reads.

One table says it for every part: collection stores QUANTITIES (and the daily roll-up the
`max_field` sums; a quantity no resource names, like GPU busy seconds, is stored and shown
but never billed), pricing and the pages bill the field a tariff's policy names
(`billed_field`), and a tariff is checked against it (`tariff_problem`). An `optional`
resource (GPU energy) is billed only where a tariff of it is in force: without one its
quantity is shown, not billed, where a required resource's usage stops the statement. Pure:
it imports nothing of the project, so the models may import it.
"""

from dataclasses import dataclass

GIB = 2**30

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
    # GPU energy and activity: stored and shown; the energy is billed by the optional
    # `gpu_energy` resource where a tariff of it is in force, busy and idle seconds never.
    "gpu_energy_joules",
    "gpu_busy_seconds",
    "gpu_idle_seconds",
)


@dataclass(frozen=True)
class Resource:
    unit: str
    policies: tuple[str, ...]
    usage_field: str
    request_field: str | None
    divisor: float  # stored value / divisor = quantity in the unit (storage: per month hour)
    # The daily roll-up's sum of max(usage, request) per job-hour, for the `max` policy.
    max_field: str | None = None
    # Billed only where a tariff of it is in force: usage without one is shown, not billed
    # (a required resource's usage without a tariff stops the statement).
    optional: bool = False
    # The job-hour's flag (HourlyUsage) saying its usage of the resource is partly an
    # estimate; a statement line keeps the quantity of such job-hours.
    estimate_flag: str | None = None

    def field(self, policy: str) -> str:
        """The stored quantity that `policy` bills (the roll-up's sum for `max`)."""
        if policy == "request" and self.request_field:
            return self.request_field
        if policy == "max" and self.max_field:
            return self.max_field
        return self.usage_field


RESOURCES = {
    "cpu": Resource(
        "core-hour",
        ("usage", "request", "max"),
        "cpu_core_seconds",
        "cpu_request_core_seconds",
        3600,
        "cpu_max_core_seconds",
    ),
    "memory": Resource(
        "GiB-hour",
        ("usage", "request", "max"),
        "memory_byte_seconds",
        "memory_request_byte_seconds",
        GIB * 3600,
        "memory_max_byte_seconds",
    ),
    "gpu": Resource("GPU-hour", ("request",), "gpu_seconds", "gpu_seconds", 3600),
    "gpu_memory": Resource("GiB-hour", ("usage",), "gpu_memory_mib_seconds", None, 1024 * 3600),
    "storage": Resource("GiB-month", ("usage",), "storage_byte_seconds", None, GIB * 3600),
    "network_rx": Resource("GiB", ("usage",), "network_rx_bytes", None, GIB),
    "network_tx": Resource("GiB", ("usage",), "network_tx_bytes", None, GIB),
    # The energy of the GPUs a job held: a MIG slice's or a time-sliced GPU's share is an
    # estimate (docs/collection.md). Optional: sites that do not bill energy import no tariff.
    "gpu_energy": Resource(
        "kWh",
        ("usage",),
        "gpu_energy_joules",
        None,
        3_600_000,
        optional=True,
        estimate_flag="gpu_energy_estimated",
    ),
}
# The roll-up's max(usage, request) sums: {max field: (usage field, request field)}.
MAX_FIELDS = {
    spec.max_field: (spec.usage_field, spec.request_field)
    for spec in RESOURCES.values()
    if spec.max_field
}


def billed_field(resource: str, policy: str) -> str:
    """The roll-up's field that a tariff of `resource` with `policy` bills."""
    return RESOURCES[resource].field(policy)


def tariff_problem(tariff) -> str:
    """Return why a tariff is not acceptable, or an empty string."""
    spec = RESOURCES.get(tariff.resource)
    if spec is None:
        return f"resource: unknown {tariff.resource!r}; use {', '.join(RESOURCES)}"
    if tariff.unit != spec.unit:
        return f"unit: {tariff.resource} is priced per {spec.unit}, not {tariff.unit!r}"
    if tariff.policy not in spec.policies:
        return (
            f"policy: {tariff.resource} takes {' or '.join(spec.policies)}, not {tariff.policy!r}"
        )
    if tariff.price_chf is None:
        return "price_chf: missing"
    if tariff.valid_from is None:
        return "valid_from: missing"
    return ""
