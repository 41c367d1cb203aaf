"""python -m dashboards: write the dashboards' JSON and ConfigMap under deploy/grafana/."""

from dashboards.files import write

for path in write():
    print(path)
