"""Collect exact hourly usage per job from Prometheus: the queries and what they say.

For a chunk of consecutive UTC hours, every fact comes from one range query with a one-hour
step (promadapter.usage), so the number of queries does not grow with the number of hours
or jobs; raw samples are fetched only where a fact needs them (counter resets, pods that
vanished or crossed a data gap, claims that came or went, GPU pods that did not run the
whole hour), one query per fact for all the chunk's hours that need it; GPU energy and
activity are read raw by device, two queries per chunk (energy_reads.py). facts.py turns the
answers into running intervals and attribution.py into usage per job. Before anything
else, each exporter's data gaps are found from its heartbeat (gaps.py), so that objects
are billed through bridged gaps and not through long ones. It reads; run.py writes.
"""

import gc
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from billing.collection.counters import read_counters
from billing.collection.energy_reads import read_gpu_energy
from billing.collection.facts import (
    Hour,
    InstanceFacts,
    borrow_unseen_starts,
    earliest,
    start_from_containers,
)
from billing.collection.gaps import (
    Gap,
    Gaps,
    existence_seconds,
    exporter_node,
    gaps_in,
    neighbour_levels,
    short_windows,
)
from billing.collection.series import around, object_labels, one_replica, pod_uid_of_cgroup
from billing.utc import HOUR, hour_of
from promadapter.promql import any_of, quote
from promadapter.usage import CONTAINER, HEARTBEATS, UsageQueries

MS = timedelta(milliseconds=1)


@contextmanager
def sparse_cycle_collection():
    """Run Python's cycle collector after 100,000 new objects instead of 700, meanwhile.

    A day of a 1,000-container cluster decodes 72 MB of answers into millions of lists,
    dicts and tuples, none of them in a cycle: the collector's frequent passes over them
    freed nothing and took a third of the collection's CPU time (docs/benchmarks.md).
    """
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class UsageReader:
    """Reads what Prometheus says of a chunk of hours: runs the queries, gathers the answers
    per hour. It writes nothing; billing/collection/run.py turns what it read into rows."""

    def __init__(
        self,
        client,
        queries: UsageQueries,
        account_label: str,
        scrape_interval: int,
        max_bridged_gap: int = 3600,
        replica_labels: tuple[str, ...] = ("prometheus_replica",),
        concurrency: int = 1,
        user_label: str = "",
    ):
        self.client = client
        self.q = queries
        self.account_label = account_label
        self.user_label = user_label
        self.interval = scrape_interval
        self.max_gap = max_bridged_gap
        self.replicas = replica_labels
        self.concurrency = max(1, concurrency)
        self.queries_run = 0
        # Each counter's last hour read, carried from chunk to chunk (billing.collection.counters).
        self.counter_history: dict = {}
        # Each GPU's last energy sample, by the start of the chunk it precedes (energy_reads).
        self.energy_history: dict = {}
        # Seconds during which at least one query was waiting on Prometheus: parallel
        # queries count once, so that it compares with the run's duration.
        self.query_seconds = 0.0
        self.in_flight = 0
        self.busy_since = 0.0
        self.lock = threading.Lock()

    def timed(self, call, *args):
        with self.lock:
            if self.in_flight == 0:
                self.busy_since = time.monotonic()
            self.in_flight += 1
        try:
            return call(*args)
        finally:
            with self.lock:
                self.queries_run += 1
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.query_seconds += time.monotonic() - self.busy_since

    def read_ahead(self, chunks):
        """Yield (chunk, its hours' data), the next chunk read while the caller writes one."""
        with ThreadPoolExecutor(1) as pool:
            pending = None
            for chunk in chunks:
                future = pool.submit(self.hours, chunk)
                if pending:
                    yield pending[0], pending[1].result()
                pending = (chunk, future)
            if pending:
                yield pending[0], pending[1].result()

    def matrix(self, expr: str, hours: list[datetime], later: int = 0) -> list[dict]:
        """The answer of expr evaluated at each hour's last millisecond (plus `later` s)."""
        shift = HOUR - MS + timedelta(seconds=later)
        return self.timed(self.client.query_range, expr, hours[0] + shift, hours[-1] + shift, 3600)

    def points(self, expr: str, hours: list[datetime], later: int = 0) -> list[tuple]:
        """(hour, raw labels, value) of every point of expr, one replica per series.

        With `later`, expr is evaluated that many seconds after each hour's end.
        """
        answer = self.matrix(expr, hours, later)
        points = [
            (hour_of(ts - later), series["metric"], float(value))
            for series in answer
            for ts, value in series["values"]
        ]
        return one_replica(points, self.replicas)

    def range(self, expr: str, hours: list[datetime], later: int = 0) -> list[tuple]:
        """Like points, with the objects' own labels (exported_* moved back)."""
        moved = {}  # by series: its points share one labels dict
        return [
            (h, moved.get(id(labels)) or moved.setdefault(id(labels), object_labels(labels)), v)
            for h, labels, v in self.points(expr, hours, later)
        ]

    def samples(self, selector: str, hours: list[datetime], margin: int = 0) -> list[tuple]:
        """(raw labels, [(t, v)]) of every series' samples from `margin` s before the first
        of the sorted hours to `margin` s after the last, in one query."""
        span = round((hours[-1] - hours[0]) / HOUR) + 1
        at = hours[-1] + HOUR - MS + timedelta(seconds=margin)
        answer = self.timed(self.client.query, self.q.raw_around(selector, margin, span), at)
        return [(s["metric"], [(float(t), float(v)) for t, v in s["values"]]) for s in answer]

    def raw(self, selector: str, hours: list[datetime], margin: int = 0) -> dict:
        """{hour: [(labels, [(t, v)])]} of raw samples from `margin` s before each of the
        sorted hours to `margin` s after it, read in one query.

        Each hour keeps the series with samples in its own window, one replica each, as if
        it had been asked alone.
        """
        series = self.samples(selector, hours, margin)
        out = {}
        for h in hours:
            cut = [(h, labels, values) for labels, values in around(series, h, margin)]
            kept = one_replica(cut, self.replicas)
            out[h] = [(object_labels(labels), values) for _, labels, values in kept]
        return out

    def hours(self, hours: list[datetime]) -> dict[datetime, Hour]:
        """Query everything about the given consecutive hours."""
        # Pods and gauges are read one hour further: what started in an hour without being
        # seen in it (too late for a scrape, or inside a gap) is known from the next.
        following = hours[-1] + HOUR
        extended = [*hours, following]
        data = {h: Hour() for h in extended}
        # Independent facts, each filling its own part of the hours, read side by side.
        with ThreadPoolExecutor(self.concurrency) as pool:
            reads = [
                pool.submit(self.read_gaps, hours),
                pool.submit(read_counters, self, data, hours),
                pool.submit(self.read_pods, data, extended),
                pool.submit(self.read_memory, data, extended),
                pool.submit(self.read_owners, data, extended),
                pool.submit(self.read_gpu_memory, data, extended),
                # Last: its two short reads fill a worker's gap behind the long ones.
                pool.submit(read_gpu_energy, self, data, hours),
            ]
            gaps = reads[0].result()
            for read in reads[1:]:
                read.result()
        for hour in data.values():
            hour.gaps = gaps
        for h in hours:
            borrow_unseen_starts(data[h], data[h + HOUR], h.timestamp())
            start_from_containers(data[h])
        del data[following]
        self.read_gap_levels(data, gaps)
        self.read_storage(data, hours)
        self.find_last_running(data)
        self.fetch_partial_gpu_memory(data)
        return data

    def read_gaps(self, hours: list[datetime]) -> Gaps:
        """Every exporter's gaps from a bridging margin before the hours to one after.

        Each heartbeat's samples are first counted per hour; only the hours that lack some
        are read sample by sample, so that a chunk without gaps costs three small queries.
        """
        margin = self.max_gap + 2 * self.interval
        end = min(hours[-1] + HOUR + timedelta(seconds=margin), datetime.now(UTC)).timestamp()
        windows = math.ceil((end - hours[0].timestamp() + margin) / 3600)
        first = end - (windows - 1) * 3600
        found: list[Gap] = []
        for kind, metric, matchers, by in HEARTBEATS:
            counts = self.timed(
                self.client.query_range,
                self.q.heartbeat_count(metric, matchers, by),
                first,
                end,
                3600,
            )
            full = 3600 / self.interval - 1
            short = short_windows(counts, first, end, full)
            # Exporters whose last hour was whole are still there at the end.
            whole_at_end = {
                exporter_node(kind, series["metric"])
                for series in counts
                if any(abs(float(t) - end) < 1 and float(v) >= full for t, v in series["values"])
            }
            last_seen: dict[str, float] = {}
            for a, b in short:
                # Gaps lie inside the short stretches: the hours between them were whole.
                times: dict[str, list[float]] = {}
                selectors: dict[str, tuple] = {}
                expr = self.q.heartbeat(metric, matchers, by)
                for series in self.timed(self.client.query_range, expr, a, b, self.interval):
                    labels = series["metric"]
                    node = exporter_node(kind, labels)
                    times.setdefault(node, []).extend(float(v) for _, v in series["values"])
                    selectors[node] = tuple(
                        (k, labels[k]) for k in ("job", "instance") if labels.get(k)
                    )
                for node, seen in times.items():
                    found += gaps_in(kind, node, seen, self.interval, self.max_gap, selectors[node])
                    last_seen[node] = max(seen)
            for node, last in last_seen.items():
                if end - last > 2 * self.interval and node not in whole_at_end:
                    # not back by the end of what was read
                    found.append(
                        Gap(kind, node, last + self.interval / 2, end, False, self.interval)
                    )
        return Gaps(found)

    def read_pods(self, data, hours):
        window, lookahead = f"{2 * self.interval}s", 2 * self.interval
        for h, labels, _ in self.range(self.q.pod_active(), hours):
            data[h].pod(labels).seen_active = True
        for h, labels, _ in self.range(self.q.pod_active_at_end(window), hours):
            data[h].pod(labels).active_at_end = True
        for h, labels, _ in self.range(self.q.pod_terminal(lookahead), hours, lookahead):
            data[h].pod(labels).terminal = True
        # The same object may answer several times (scraped with honor_labels false, the
        # exporter's own `pod` label changes at each of its restarts): keep the extremes.
        for h, labels, value in self.range(self.q.pod_start(), hours):
            pod = data[h].pod(labels)
            pod.start = earliest(pod.start, value)
        for h, labels, value in self.range(self.q.first_container_start(), hours):
            pod = data[h].pod(labels)
            pod.app_start = earliest(pod.app_start, value)
        for h, labels, value in self.range(self.q.init_container_starts(), hours):
            starts, container = data[h].pod(labels).init_starts, labels.get("container", "")
            starts[container] = earliest(starts.get(container), value)
        for h, labels, value in self.range(
            self.q.pod_completion(lookahead, "max"), hours, lookahead
        ):
            pod = data[h].pod(labels)
            pod.completion = max(pod.completion or value, value)
        for h, labels, value in self.range(
            self.q.pod_completion(lookahead, "min"), hours, lookahead
        ):
            pod = data[h].pod(labels)
            pod.first_completion = earliest(pod.first_completion, value)
        for h, labels, _ in self.range(self.q.pod_info(), hours):
            pod = data[h].pod(labels)
            pod.host_network = labels.get("host_network") == "true"
            pod.node = labels.get("node") or pod.node
        for h, labels, _ in self.range(self.q.pod_owner(), hours):
            pod = data[h].pod(labels)
            pod.owner_kind = labels.get("owner_kind", "")
            pod.owner_name = labels.get("owner_name", "")
        for h, labels, value in self.range(self.q.pod_requests(), hours):
            requests, resource = data[h].pod(labels).requests, labels.get("resource", "")
            requests[resource] = max(requests.get(resource, value), value)
        for h, labels, value in self.range(self.q.init_requests(), hours):
            per_container = data[h].pod(labels).init_requests
            requests = per_container.setdefault(labels.get("container", ""), {})
            requests[labels["resource"]] = max(requests.get(labels["resource"], value), value)
        for h, labels, _ in self.range(self.q.native_sidecars(), hours):
            data[h].pod(labels).sidecars.add(labels.get("container", ""))
        # Here, not beside: the pods' facts are filled by one thread.
        self.read_users(data, hours)

    def read_users(self, data, hours):
        """Who ran each pod: its user label, in one query, none when the setting is off.

        A pod whose label changed within the hour answers once per value: the greatest is
        kept, so that the hour's answer does not depend on the order of the series (the
        next hour, which sees only the new value, has the last word on the job).
        """
        if not self.user_label:
            return
        for h, labels, _ in self.range(self.q.pod_label(self.user_label), hours):
            pod = data[h].pod(labels)
            pod.user = max(pod.user, labels.get(self.user_label, ""))

    def read_memory(self, data, hours):
        """Each container instance's working-set samples and start."""
        lookahead = 2 * self.interval
        counts = {
            (h, labels["id"]): v for h, labels, v in self.range(self.q.working_set_count(), hours)
        }
        starts = {
            (h, labels.get("id")): v for h, labels, v in self.range(self.q.instance_starts(), hours)
        }
        for h, labels, total in self.range(self.q.working_set_sum(), hours):
            key = (h, labels["id"])
            data[h].instances[labels["id"]] = InstanceFacts(
                labels.get("namespace", ""),
                labels.get("pod", ""),
                pod_uid_of_cgroup(labels["id"]),
                labels.get("container", ""),
                total,
                counts.get(key, 0.0),
                starts.get(key),
            )
        for fn in ("max", "min"):
            expr = self.q.last_terminations(lookahead, fn)
            for h, labels, value in self.range(expr, hours, lookahead):
                key = (
                    labels.get("namespace", ""),
                    labels.get("pod", ""),
                    labels.get("container", ""),
                )
                data[h].terminations[key].add(value)

    def read_gpu_memory(self, data, hours):
        counts = {
            (h, tuple(sorted(labels.items()))): v
            for h, labels, v in self.range(self.q.gpu_memory_count(), hours)
        }
        for h, labels, total in self.range(self.q.gpu_memory_sum(), hours):
            if labels.get("pod"):
                count = counts.get((h, tuple(sorted(labels.items()))), 0.0)
                data[h].gpu_memory[(labels.get("namespace", ""), labels["pod"])].append(
                    (total, count)
                )

    def fetch_partial_gpu_memory(self, data):
        """Raw GPU memory samples of GPU pods that did not run the whole hour.

        dcgm-exporter may keep a finished pod's labels on its devices for minutes (the
        kubelet's podresources API listed finished pods), at idle memory: only the samples
        inside the pod's running interval count.
        """
        partial = {}
        for h, hour in data.items():
            h0 = h.timestamp()
            if found := {
                (p.namespace, p.pod)
                for p in hour.pods.values()
                if (p.namespace, p.pod) in hour.gpu_memory
                and (p.namespace, p.pod) not in hour.borrowed
                and p.running_seconds(h0) < 3600
            }:
                partial[h] = found
        if not partial:
            return
        hours = sorted(partial)
        pods = any_of(p for found in partial.values() for _, p in found)
        samples: dict = {h: {} for h in hours}
        for label in ("pod", "exported_pod"):
            selector = self.q.sel("DCGM_FI_DEV_FB_USED", f"{label}=~{pods}")
            for h, series in self.raw(selector, hours).items():
                for labels, values in series:
                    key = (labels.get("namespace", ""), labels.get("pod", ""))
                    if key in partial[h]:
                        device = tuple(sorted(labels.items()))
                        samples[h].setdefault(key, {})[device] = values
        for h, found in partial.items():
            for key in found:
                data[h].gpu_samples[key] = samples[h].get(key, {})

    def read_gap_levels(self, data, gaps: Gaps):
        """The gauges' last samples before each bridged gap of their exporter and first after.

        A gauge is billed through a bridged gap at the mean of those two levels, for series
        (container instances, GPU memory of a pod) present on both sides.
        """
        hours = sorted(data)
        t0, t1 = hours[0].timestamp(), hours[-1].timestamp() + 3600
        for gap in gaps.touching(t0, t1):
            if not gap.bridged or gap.kind == "ksm":
                continue
            exporter = ", ".join(f"{k}={quote(v)}" for k, v in gap.labels)
            if gap.kind == "kubelet":
                metric, exporter = "container_memory_working_set_bytes", f"{CONTAINER}, {exporter}"
                series = self.q.sel(metric, exporter)
            else:
                series = self.q.sel("DCGM_FI_DEV_FB_USED", exporter)
            window = f"{self.interval}s"
            before = self.timed(self.client.query, f"{series}[{window}]", gap.start)
            after = self.timed(
                self.client.query, f"{series}[{window}]", gap.end + self.interval - 0.001
            )
            levels = neighbour_levels(gap.kind, before, after, self.replicas)
            for hour in data.values():
                hour.gap_levels[gap] = levels

    def read_owners(self, data, hours):
        for h, labels, _ in self.range(self.q.replicaset_owner(), hours):
            key = (labels.get("namespace", ""), labels.get("replicaset", ""))
            data[h].replicaset_owner[key] = (
                labels.get("owner_kind", ""),
                labels.get("owner_name", ""),
            )
        for h, labels, _ in self.range(self.q.job_owner(), hours):
            key = (labels.get("namespace", ""), labels.get("job_name", ""))
            data[h].job_parent[key] = (labels.get("owner_kind", ""), labels.get("owner_name", ""))
        for h, labels, _ in self.range(self.q.namespace_label(self.account_label), hours):
            if value := labels.get(self.account_label):
                data[h].namespace_label[labels["namespace"]] = value

    def read_storage(self, data, hours):
        """Each claim's mean size and the seconds it existed in the hour.

        A claim present at the hour's start and end existed all hour (a bridged gap in
        between does not matter); the others are fetched raw, and exist from half an
        interval before their first sample to half an interval after their last, through
        bridged gaps of kube-state-metrics.
        """
        window = f"{2 * self.interval}s"

        def claims(expr):
            return {
                (h, labels["namespace"], labels["persistentvolumeclaim"])
                for h, labels, _ in self.range(expr, hours)
            }

        created = {
            (h, labels["namespace"], labels["persistentvolumeclaim"]): value
            for h, labels, value in self.range(self.q.pvc_created(), hours)
        }
        at_start = claims(self.q.pvc_present(window, at_start=True))
        at_end = claims(self.q.pvc_present(window, at_start=False))
        changing: dict[datetime, list[tuple[str, str]]] = {}
        for h, labels, size in self.range(self.q.pvc_bytes(), hours):
            key = (labels["namespace"], labels["persistentvolumeclaim"])
            if (h, *key) in at_start and (h, *key) in at_end:
                h0 = h.timestamp()
                hidden = data[h].gaps.hidden_seconds("ksm", "", h0, h0 + 3600, False)
                data[h].pvcs[key] = (size, 3600.0 - hidden)
            else:
                data[h].pvcs[key] = (size, 0.0)
                changing.setdefault(h, []).append(key)
        if changing:
            self.claim_existence(data, changing, created)

    def claim_existence(self, data, changing: dict[datetime, list[tuple[str, str]]], created):
        """The seconds each claim that came or went existed in its hour, from raw samples."""
        margin = self.max_gap + 2 * self.interval
        selector = self.q.sel(
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            f"persistentvolumeclaim=~{any_of(c for keys in changing.values() for _, c in keys)}",
        )
        for h, series in self.raw(selector, sorted(changing), margin).items():
            self.claim_seconds(data[h], h, changing[h], series, created)

    def claim_seconds(self, hour: Hour, h: datetime, keys, series, created):
        times: dict[tuple[str, str], list[float]] = {}
        for labels, samples in series:
            key = (labels.get("namespace", ""), labels.get("persistentvolumeclaim", ""))
            times.setdefault(key, []).extend(t for t, _ in samples)
        h0 = h.timestamp()
        for key in keys:
            size, _ = hour.pvcs[key]
            seconds = existence_seconds(
                times.get(key, []),
                h0,
                h0 + 3600,
                self.interval,
                lambda a, b: hour.gaps.bridges("ksm", a, b),
                created.get((h, *key)),
            )
            hour.pvcs[key] = (size, seconds)

    def find_last_running(self, data):
        """When pods that stopped being seen Running without completing were last Running.

        A pod seen again after a bridged gap of kube-state-metrics lived through it: still
        Running, it ran through the hour's end; Succeeded or Failed, it ran until the
        completion time published after the gap. Otherwise it vanished (deleted while
        Running) half an interval after its last Running sample, the unbiased guess.
        """
        margin = self.max_gap + 2 * self.interval
        stopped = {}
        for h, hour in data.items():
            if pods := {
                p.uid: p
                for p in hour.pods.values()
                if p.seen_active and not p.active_at_end and not p.ended() and p.uid
            }:
                stopped[h] = pods
        if not stopped:
            return
        hours = sorted(stopped)
        uids = f"uid=~{any_of(uid for pods in stopped.values() for uid in pods)}"
        phases = self.q.sel("kube_pod_status_phase", f'phase=~"Running|Succeeded|Failed", {uids}')
        phase_samples = self.raw(phases, hours, margin)
        completion_samples = self.raw(self.q.sel("kube_pod_completion_time", uids), hours, margin)
        for h in hours:
            seen: dict[str, list[tuple[float, str]]] = {}
            for labels, samples in phase_samples[h]:
                seen.setdefault(labels.get("uid", ""), []).extend(
                    (t, labels.get("phase", "")) for t, v in samples if v == 1
                )
            completions: dict[str, float] = {}
            for labels, samples in completion_samples[h]:
                uid = labels.get("uid", "")
                completions[uid] = max([completions.get(uid, 0.0), *(v for _, v in samples)])
            for uid, pod in stopped[h].items():
                self.place_end(pod, h, data[h], seen.get(uid, []), completions.get(uid))

    def place_end(self, pod, h: datetime, hour: Hour, seen: list, completion: float | None):
        h1 = h.timestamp() + 3600
        running = [t for t, phase in seen if phase == "Running" and t < h1]
        if not running:
            return
        last = max(running)
        after = [(t, phase) for t, phase in seen if t > last]
        if after and hour.gaps.bridges("ksm", last, min(after)[0]):
            first_phase = min(after)[1]
            if first_phase != "Running" and completion is not None:
                pod.terminal, pod.completion = True, completion
                pod.active_at_end = completion >= h1
                return
            if first_phase == "Running" and min(after)[0] >= h1:
                pod.active_at_end = True
                return
        pod.vanished = last + self.interval / 2
        pod.end_hidden = any(
            not g.bridged and 0 <= g.start - last <= self.interval for g in hour.gaps.of("ksm")
        )
