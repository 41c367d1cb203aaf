"""Billing pipeline health: is collection keeping up, failing, bridging gaps, and how fast is
Prometheus answering it. Reads the app's own metrics, scraped from its /metrics endpoint.
"""

from dashboards import variables
from dashboards.layout import dashboard
from dashboards.panels import CORES, graph, sel, single

LATENCY = (
    "histogram_quantile({q}, sum by (le) "
    "(rate(kubemon_prometheus_request_duration_seconds_bucket[$__rate_interval])))"
)


def per_cluster(metric: str) -> str:
    return f"max by (cluster) ({sel(metric)})"


def per_hour(counter: str) -> str:
    """Increase per cluster and outcome over the hour before each point (collection is hourly)."""
    return f"sum by (cluster, outcome) (increase({sel(counter)}[1h]))"


def build():
    status = [
        single(
            "Collection lag",
            "s",
            per_cluster("kubemon_collection_lag_seconds"),
            description="From the end of the last collected hour to now.",
        ),
        single(
            "Collected up to",
            "dateTimeAsIso",
            per_cluster("kubemon_collection_last_hour_end_timestamp_seconds") + " * 1000",
        ),
        single(
            "Since last successful run",
            "s",
            f"time() - {per_cluster('kubemon_collection_last_success_timestamp_seconds')}",
        ),
        single(
            "Last run failed",
            "bool_yes_no",
            per_cluster("kubemon_collection_last_run_failed"),
        ),
    ]
    runs = [
        graph(
            "Collection runs per hour by outcome",
            "short",
            {"{{cluster}} {{outcome}}": per_hour("kubemon_collection_runs_total")},
        ),
        graph(
            "Last run duration",
            "s",
            {
                "{{cluster}} total": per_cluster("kubemon_collection_last_run_duration_seconds"),
                "{{cluster}} in Prometheus": per_cluster(
                    "kubemon_collection_last_run_query_seconds"
                ),
            },
        ),
        graph(
            "Data gaps per hour by outcome",
            "short",
            {"{{cluster}} {{outcome}}": per_hour("kubemon_collection_gaps_total")},
            description="Bridged gaps are billed through; refused ones flag their hours.",
        ),
        graph(
            "Unassigned usage per day",
            "short",
            {
                "{{cluster}} job-hours": "sum by (cluster) (increase({}[1d]))".format(
                    sel("kubemon_unassigned_usage_job_hours_total")
                )
            },
            description="Job-hours of namespaces no account claims: map them to an account.",
        ),
        graph(
            "Unassigned CPU per day",
            CORES,
            {
                "{{cluster}}": "sum by (cluster) (increase({}[1d])) / 86400".format(
                    sel("kubemon_unassigned_cpu_core_seconds_total")
                )
            },
            description="Mean cores used over the day by namespaces no account claims.",
        ),
    ]
    prometheus = [
        graph(
            "Prometheus requests by outcome",
            "reqps",
            {
                "{{outcome}}": "sum by (outcome) "
                "(rate(kubemon_prometheus_requests_total[$__rate_interval]))"
            },
        ),
        graph(
            "Prometheus request duration",
            "s",
            {"p50": LATENCY.format(q=0.5), "p95": LATENCY.format(q=0.95)},
        ),
    ]
    return dashboard(
        "kubemon-pipeline",
        "kube-monitoring / Billing pipeline health",
        "Hourly usage collection: lag, failures, gaps, unassigned usage, Prometheus requests.",
        [variables.datasource(), variables.cluster("kubemon_collection_last_run_failed")],
        {"Status": status, "Collection": runs, "Prometheus": prometheus},
    )
