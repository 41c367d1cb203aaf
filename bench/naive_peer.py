"""The naive peer of bench/collect.py: billing the way a quick script would do it.

    naive_peer.py PROMETHEUS_URL START END

prometheus-api-client reads CPU and network rates and the memory working set at the scrape
step over the whole window, pandas integrates them per pod-hour (value x step). No owners,
no requests, no writes. Prints the window's totals as JSON.
"""

import json
import sys
from datetime import datetime

import pandas as pd
from prometheus_api_client import PrometheusConnect

STEP = 30
QUERIES = {
    "cpu_core_seconds": 'rate(container_cpu_usage_seconds_total{container!="", image!=""}[1m])',
    "memory_byte_seconds": 'container_memory_working_set_bytes{container!="", image!=""}',
    "network_rx_bytes": 'rate(container_network_receive_bytes_total{pod!=""}[1m])',
}


def per_pod_hour(answer: list[dict]) -> pd.Series:
    frames = []
    for series in answer:
        frame = pd.DataFrame(series["values"], columns=["t", "v"]).astype(float)
        frame["namespace"] = series["metric"].get("namespace", "")
        frame["pod"] = series["metric"].get("pod", "")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data["hour"] = (data["t"] // 3600).astype(int)
    return data.groupby(["namespace", "pod", "hour"])["v"].sum() * STEP


def main() -> None:
    url, start, end = sys.argv[1:]
    prometheus = PrometheusConnect(url=url, disable_ssl=True)
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    totals = {}
    for quantity, expr in QUERIES.items():
        answer = prometheus.custom_query_range(expr, start_time=a, end_time=b, step=str(STEP))
        totals[quantity] = float(per_pod_hour(answer).sum())
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
