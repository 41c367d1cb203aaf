"""Whether the query engine's range windows are closed or left-open, found by asking it.

`x[d]` at time t selects the samples in [t - d, t] on Prometheus 2 and in (t - d, t] on
Prometheus 3, VictoriaMetrics, and whatever an engine behind Thanos or Mimir follows. The
hourly expressions must cover each hour's samples exactly once (promadapter.usage.hour_range),
so the collector asks the engine rather than trusting a version string: VictoriaMetrics
reports none, a proxy may report its own. The probe reads two consecutive raw samples of one
series, t1 < t2, and counts the samples of `[t2 - t1]` at t2: two on a closed window, one on a
left-open one.
"""

from promadapter.usage import exact_selector

# Always scraped while kube-state-metrics is, one small series per node.
PROBE = 'kube_node_status_capacity{resource="cpu"}'
# How far back from the probe time to look for two samples.
LOOKBACK = "15m"


class NoProbeSamples(Exception):
    """The engine holds no series with two samples before the probe time."""


def left_open(client, at: float) -> bool:
    """True when `client`'s engine leaves the left edge out of range windows."""
    first, second, labels = consecutive_samples(client, at)
    window_ms = round(second * 1000) - round(first * 1000)
    answer = client.query(f"count_over_time({exact_selector(labels)}[{window_ms}ms])", at=second)
    if len(answer) != 1:
        raise NoProbeSamples(f"the probe count of {PROBE} answered {len(answer)} series")
    return answer[0]["value"][1] == "1"


def consecutive_samples(client, at: float) -> tuple[float, float, dict]:
    """The timestamps of the last two raw samples of one probe series, and its labels."""
    for series in client.query(f"{PROBE}[{LOOKBACK}]", at=at):
        times = [sample[0] for sample in series.get("values", [])]
        if len(times) >= 2:
            return times[-2], times[-1], series["metric"]
    raise NoProbeSamples(f"no series of {PROBE} has two samples in the {LOOKBACK} before")
