"""The pieces every dashboard is made of: the Prometheus datasource, selectors, panels.

Queries follow the project's conventions (prometheus/rules/): recorded series where a rule
exists, raw exporter series otherwise, `cluster` matched with =~ so that the "All" value
(.*) also matches the series of a single-cluster Prometheus, which have no cluster label.
"""

from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
# Graph widths on Grafana's 24-column grid.
FULL, HALF, QUARTER = 24, 12, 6
CORES = "suffix: cores"  # Grafana's custom unit: the number, then " cores"
GPUS = "suffix: GPUs"


def sel(metric: str, *matchers: str) -> str:
    """`metric` restricted to the dashboard's cluster and the given label matchers."""
    return metric + "{" + ", ".join(('cluster=~"$cluster"', *matchers)) + "}"


def target(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref)
        .range()
    )


def graph(title: str, unit: str, queries: dict[str, str], width: int = HALF, description=""):
    """A time series panel: one line per series of each query, named by its legend."""
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .span(width)
        .height(8)
        .fill_opacity(10)
    )
    for ref, (legend, expr) in zip("ABCDEFGH", queries.items(), strict=False):
        panel.with_target(target(expr, legend, ref))
    return panel.description(description) if description else panel


def single(title: str, unit: str, expr: str, width: int = QUARTER, description=""):
    """A stat panel: the last value of one query, with its trend behind it."""
    panel = (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(4)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(target(expr, title, "A"))
    )
    return panel.description(description) if description else panel
