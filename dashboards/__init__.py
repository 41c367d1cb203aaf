"""kube-monitoring's Grafana dashboards, built from code with grafana-foundation-sdk.

Each module builds one dashboard; `python -m dashboards` writes them to deploy/grafana/ as
JSON and as one ConfigMap for Grafana's dashboard sidecar. Never edit the JSON by hand:
tests/test_dashboards.py fails when it differs from what the code writes.
"""
