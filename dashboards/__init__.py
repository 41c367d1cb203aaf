"""kube-monitoring's Grafana dashboards, built from code with grafana-foundation-sdk.

Each module builds one dashboard; `python -m dashboards` writes them to deploy/grafana/ as
JSON and as one ConfigMap for Grafana's dashboard sidecar. Never edit the JSON by hand:
tests/deploy/test_dashboards.py fails when it differs from what the code writes.
"""

import warnings

# The SDK's modules warn, when first imported, to prefer its v2 dashboard schema. The
# dashboards stay v1: it is what file provisioning and the sidecar load on every Grafana,
# where v2 needs Grafana 12 and its Kubernetes-style dashboard API. So the modules used here
# are imported once, first, without that warning.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Prefer using dashboardv2", DeprecationWarning)
    from grafana_foundation_sdk.builders import (  # noqa: F401
        common,
        dashboard,
        prometheus,
        stat,
        timeseries,
    )
