"""Collect exact hourly usage per job from Prometheus.

For a chunk of consecutive UTC hours, every fact comes from one range query with a one-hour
step (promadapter.usage), so the number of queries does not grow with the number of hours
or jobs. Per hour and pod the collector then derives:

1. counters (CPU seconds, network bytes): the exact increase of each raw series, computed
   by Prometheus; series with a counter reset are fetched raw and computed here;
2. the pod's running interval: kube_pod_start_time to kube_pod_completion_time, or to the
   end of the hour while it still runs, or to its last Running sample when it vanished
   (fetched raw, for those pods only); requests and GPUs count only inside it, so a
   completed Job pod that still exports its requests is not billed;
3. gauges (working set, GPU memory): the mean of the hour's samples times the running time,
   capped at one scrape interval past the time the samples cover, so a scrape gap is not
   billed as usage;
4. the job that owns the pod (ReplicaSet → Deployment, Job → CronJob as parent) and the
   account of its namespace.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from billing.hours import HOUR
from promadapter.promql import quote
from promadapter.usage import COUNTERS, RUNNING, UsageQueries, exact_selector

MS = timedelta(milliseconds=1)


@dataclass
class PodFacts:
    """What kube-state-metrics says about one pod in one hour (times in unix seconds)."""

    namespace: str
    pod: str
    uid: str
    seen_running: bool = False
    running_at_end: bool = False
    start: float | None = None
    first_container_start: float | None = None
    completion: float | None = None
    vanished: float | None = None
    host_network: bool = False
    owner_kind: str = ""
    owner_name: str = ""
    requests: dict[str, float] = field(default_factory=dict)

    def ran_in(self, hour: datetime) -> bool:
        completed_in_hour = self.completion is not None and self.completion >= hour.timestamp()
        return self.seen_running or completed_in_hour

    def running_seconds(self, hour: datetime) -> float:
        """Seconds of [hour, hour + 1 h) during which the pod ran.

        It runs from its first container's start (kube_pod_start_time when no container
        was seen started) to its completion time, or past the hour while it still runs,
        or, when it vanished without completing, to half an interval after its last
        Running sample (the unbiased guess; the deletion lies within that interval).
        """
        if not self.ran_in(hour):
            return 0.0
        h0 = hour.timestamp()
        h1 = h0 + 3600
        start = next((t for t in (self.first_container_start, self.start) if t), h0)
        if self.completion is not None:
            end = self.completion
        elif self.running_at_end or self.vanished is None:
            end = h1
        else:
            end = self.vanished
        return max(0.0, min(end, h1) - max(start, h0))


@dataclass
class Hour:
    """Everything the queries said about one hour, keyed by pod."""

    pods: dict[tuple[str, str, str], PodFacts] = field(default_factory=dict)
    # Per-series values, added up later with math.fsum so that order does not matter:
    # counter increases per (quantity, namespace, pod); working set sample sums and
    # counts per (namespace, pod, container); GPU memory sample sums and counts per pod.
    counters: dict[str, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    memory: dict[tuple[str, str, str], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    gpu_memory: dict[tuple[str, str], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Seconds a container was down between a crash and its restart.
    downtime: dict[tuple[str, str, str], float] = field(default_factory=lambda: defaultdict(float))
    replicaset_owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    job_parent: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    namespace_label: dict[str, str] = field(default_factory=dict)
    pvcs: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def pod(self, labels: dict) -> PodFacts:
        key = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("uid", ""))
        if key not in self.pods:
            self.pods[key] = PodFacts(*key)
        return self.pods[key]


def hour_of(ts: float) -> datetime:
    """Return the hour whose last millisecond is the evaluation time `ts`."""
    return datetime.fromtimestamp(round(ts + 0.001) - 3600, UTC)


class Collector:
    """Runs the queries of a chunk of hours and turns the answers into per-job usage."""

    def __init__(self, client, queries: UsageQueries, account_label: str, scrape_interval: int):
        self.client = client
        self.q = queries
        self.account_label = account_label
        self.interval = scrape_interval
        self.queries_run = 0

    def range(
        self, expr: str, hours: list[datetime], later: int = 0
    ) -> list[tuple[datetime, dict, float]]:
        """Return (hour, labels, value) for every point of expr over the hours.

        With `later`, expr is evaluated that many seconds after each hour's end.
        """
        self.queries_run += 1
        shift = HOUR - MS + timedelta(seconds=later)
        points = []
        for series in self.client.query_range(expr, hours[0] + shift, hours[-1] + shift, 3600):
            for ts, value in series["values"]:
                points.append((hour_of(float(ts) - later), series["metric"], float(value)))
        return points

    def raw(self, series: str, hour: datetime, later: int = 0) -> list[tuple[float, float]]:
        self.queries_run += 1
        at = hour + HOUR - MS + timedelta(seconds=later)
        answer = self.client.query(self.q.raw_hour(series, later), at=at)
        return [(float(t), float(v)) for s in answer for t, v in s["values"]]

    def hours(self, hours: list[datetime]) -> dict[datetime, Hour]:
        """Query everything about the given consecutive hours."""
        data = {h: Hour() for h in hours}
        self.read_pods(data, hours)
        self.read_counters(data, hours)
        self.read_gauges(data, hours)
        self.read_owners(data, hours)
        self.read_storage(data, hours)
        self.find_last_running(data)
        return data

    def read_pods(self, data, hours):
        for h, labels, _ in self.range(self.q.pod_ran(), hours):
            data[h].pod(labels).seen_running = True
        window = f"{2 * self.interval}s"
        for h, labels, _ in self.range(self.q.pod_running_at_end(window), hours):
            data[h].pod(labels).running_at_end = True
        for h, labels, value in self.range(self.q.pod_start(), hours):
            data[h].pod(labels).start = value
        for h, labels, value in self.range(self.q.first_container_start(), hours):
            data[h].pod(labels).first_container_start = value
        lookahead = 2 * self.interval
        for h, labels, value in self.range(self.q.pod_completion(lookahead), hours, lookahead):
            data[h].pod(labels).completion = value
        for h, labels, _ in self.range(self.q.pod_info(), hours):
            data[h].pod(labels).host_network = labels.get("host_network") == "true"
        for h, labels, _ in self.range(self.q.pod_owner(), hours):
            pod = data[h].pod(labels)
            pod.owner_kind, pod.owner_name = (
                labels.get("owner_kind", ""),
                labels.get("owner_name", ""),
            )
        for h, labels, value in self.range(self.q.pod_requests(), hours):
            data[h].pod(labels).requests[labels.get("resource", "")] = value

    def read_counters(self, data, hours):
        for quantity, (metric, matchers) in COUNTERS.items():
            expr = self.q.counter_increase(metric, matchers)
            for h, labels, value in self.range(expr, hours):
                data[h].counters[quantity][(labels["namespace"], labels["pod"])].append(value)
            for h, labels, _ in self.range(self.q.counter_reset(metric, matchers), hours):
                series = exact_selector({**labels, "__name__": metric})
                increase = self.reset_increase(series, h)
                data[h].counters[quantity][(labels["namespace"], labels["pod"])].append(increase)

    def reset_increase(self, series: str, hour: datetime) -> float:
        """Exact increase of one series over the hour, counter resets included."""
        answer = self.client.query(self.q.before(series), at=hour + HOUR - MS)
        self.queries_run += 1
        previous = float(answer[0]["value"][1]) if answer else 0.0
        return counter_increase(previous, [v for _, v in self.raw(series, hour)])

    def read_gauges(self, data, hours):
        for target, exprs, key_of in (
            (
                "memory",
                (self.q.working_set_sum(), self.q.working_set_count()),
                container_key,
            ),
            (
                "gpu_memory",
                (self.q.gpu_memory_sum(False), self.q.gpu_memory_count(False)),
                pod_key,
            ),
            (
                "gpu_memory",
                (self.q.gpu_memory_sum(True), self.q.gpu_memory_count(True)),
                exported_pod_key,
            ),
        ):
            sums, counts = (self.per_series(expr, hours) for expr in exprs)
            for series, total in sums.items():
                h, labels = series[0], dict(series[1])
                getattr(data[h], target)[key_of(labels)].append((total, counts.get(series, 0)))
        self.read_downtime(data, hours)

    def per_series(self, expr: str, hours) -> dict[tuple, float]:
        return {
            (h, tuple(sorted(labels.items()))): value
            for h, labels, value in self.range(expr, hours)
        }

    def read_downtime(self, data, hours):
        """Seconds each restarted container was down, from crash to restart, per hour.

        kube-state-metrics gives the previous instance's end, cAdvisor the new instance's
        start; only containers with a crash seen by the hour's end are fetched raw.
        """
        lookahead = 2 * self.interval
        crashed = [
            (h, container_key(labels))
            for h, labels, value in self.range(
                self.q.last_terminations(lookahead), hours, lookahead
            )
            if value >= h.timestamp()
        ]
        if not crashed:
            return
        starts = defaultdict(list)
        for h, labels, value in self.range(self.q.instance_starts(), hours):
            starts[(h, container_key(labels))].append(value)
        for h, key in crashed:
            matchers = ", ".join(
                f"{label}={quote(value)}" for label, value in zip(CONTAINER_KEY, key, strict=True)
            )
            series = self.q.sel("kube_pod_container_status_last_terminated_timestamp", matchers)
            ends = {v for _, v in self.raw(series, h, lookahead)}
            data[h].downtime[key] = downtime(h, sorted(starts[(h, key)]), ends)

    def read_owners(self, data, hours):
        for h, labels, _ in self.range(self.q.replicaset_owner(), hours):
            key = (labels.get("namespace", ""), labels.get("replicaset", ""))
            data[h].replicaset_owner[key] = (labels.get("owner_kind"), labels.get("owner_name"))
        for h, labels, _ in self.range(self.q.job_owner(), hours):
            key = (labels.get("namespace", ""), labels.get("job_name", ""))
            data[h].job_parent[key] = (labels.get("owner_kind"), labels.get("owner_name"))
        for h, labels, _ in self.range(self.q.namespace_label(self.account_label), hours):
            if value := labels.get(self.account_label):
                data[h].namespace_label[labels["namespace"]] = value

    def read_storage(self, data, hours):
        """Each claim's mean size and the seconds it existed in the hour.

        A claim's samples, one per scrape interval, count its existence: n samples stand
        for n intervals, an unbiased measure within one interval of the truth.
        """
        counts = {
            (h, labels["namespace"], labels["persistentvolumeclaim"]): value
            for h, labels, value in self.range(self.q.pvc_count(), hours)
        }
        for h, labels, value in self.range(self.q.pvc_bytes(), hours):
            key = (labels["namespace"], labels["persistentvolumeclaim"])
            seconds = min(3600.0, counts.get((h, *key), 0) * self.interval)
            data[h].pvcs[key] = (value, seconds)

    def find_last_running(self, data):
        """Fetch the Running samples of pods that vanished without a completion time."""
        for h, hour in data.items():
            for pod in hour.pods.values():
                if pod.seen_running and not pod.running_at_end and pod.completion is None:
                    matchers = f"{RUNNING}, namespace={quote(pod.namespace)}, pod={quote(pod.pod)}"
                    series = self.q.sel("kube_pod_status_phase", matchers)
                    running = [t for t, v in self.raw(series, h) if v == 1]
                    if running:
                        pod.vanished = max(running) + self.interval / 2


CONTAINER_KEY = ("namespace", "pod", "container")


def container_key(labels: dict) -> tuple[str, str, str]:
    return tuple(labels.get(label, "") for label in CONTAINER_KEY)


def pod_key(labels: dict) -> tuple[str, str]:
    return labels.get("namespace", ""), labels.get("pod", "")


def exported_pod_key(labels: dict) -> tuple[str, str]:
    return labels.get("exported_namespace", ""), labels.get("exported_pod", "")


def downtime(hour: datetime, starts: list[float], ends: set[float]) -> float:
    """Seconds of the hour between each instance's start and the end before it."""
    h0, h1 = hour.timestamp(), hour.timestamp() + 3600
    total = 0.0
    for start in starts:
        before = [e for e in ends if e <= start]
        if before and h0 <= start < h1:
            total += start - max(max(before), h0)
    return total


def counter_increase(previous: float, values: list[float]) -> float:
    """Exact increase of a counter: a drop means a reset, after which the value counts."""
    total, last = 0.0, previous
    for value in values:
        total += value - last if value >= last else value
        last = value
    return total
