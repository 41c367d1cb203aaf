"""The dashboards' template variables: the Prometheus datasource, cluster, namespace, job.

Query variables use Grafana's label_values() over series every cluster exports, restricted
by the variables before them, and refresh when the time range changes so that a namespace
or job seen only in the chosen range can be picked.
"""

from grafana_foundation_sdk.builders.dashboard import DatasourceVariable, QueryVariable
from grafana_foundation_sdk.models.dashboard import (
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.panels import DATASOURCE


def datasource():
    return DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def label_values(name: str, label: str, query: str, everything: bool = False):
    """A variable listing the values of `label` on the series of `query`.

    With `everything`, an "All" choice (the regex .*) comes first and is the default.
    """
    variable = (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if everything:
        all_ = VariableOption(selected=True, text="All", value="$__all")
        variable.include_all(True).all_value(".*").current(all_)
    return variable


def cluster(series: str = "kube_pod_info"):
    """Every cluster label seen on `series`; All also covers series without the label."""
    return label_values("cluster", "Cluster", f"label_values({series}, cluster)", everything=True)


def namespace():
    return label_values(
        "namespace", "Namespace", 'label_values(kube_pod_info{cluster=~"$cluster"}, namespace)'
    )


def job():
    """A job as kube-state-metrics names a pod's owner: a Job, ReplicaSet, StatefulSet…"""
    query = 'label_values(kube_pod_owner{cluster=~"$cluster", namespace="$namespace"}, owner_name)'
    return label_values("job", "Job", query)
