"""The simulator's GPU power, energy counter and activity as dcgm-exporter emits them; their truth.

Samples are taken every second straight from the exporter module: power and activity change only
at whole seconds (minute boundaries, pod starts and ends, driver loads), so the counter's
increase and the truth are checked exactly against sums of samples.
"""

import hashlib
import io
import json
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from simulator import dcgm, energy, exporters
from simulator.cli import main
from simulator.cluster import Cluster

A = int(datetime(2024, 5, 1, 6, tzinfo=UTC).timestamp())
HAND_OVER = (A + 12_600, A + 13_500)  # gpu-node-1's GPU 6 passes from one Job to another
SHARING = (A + 1_500, A + 1_700)  # three Jobs on gpu-node-2's GPU 3, others come and go
RELOAD = A + 4_696  # driver-reload on gpu-node-1 in this block
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
POWER = "DCGM_FI_DEV_POWER_USAGE"
ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
POD_LABELS = ("pod", "namespace", "container")


def make(*behaviours) -> Cluster:
    """gpu-node-1 whole GPUs, gpu-node-2 time-sliced, gpu-node-3 MIG."""
    return Cluster(
        seed=3, nodes=1, gpu_nodes=3, jobs_per_hour=4, behaviours=("mig", "shared-gpu", *behaviours)
    )


@pytest.fixture(scope="module")
def cluster():
    return make()


@pytest.fixture(scope="module")
def truth(cluster):
    return cluster.truth(*HAND_OVER)


@pytest.fixture(scope="module", params=[HAND_OVER, SHARING], ids=["hand-over", "sharing"])
def window_truth(request, cluster):
    return request.param, cluster.truth(*request.param)


def samples(cluster, node: str, family: str, t0: int, t1: int) -> list[tuple[dict, int, str]]:
    """(labels, time ms, value) of every series of `family` on `node`, one sample a second."""
    times = list(range(t0 * 1000, t1 * 1000, 1000))
    pods, _ = cluster.objects(t0, t1)
    out = []
    found = dcgm.series(
        cluster.seed, cluster.node_by_name[node], pods, family, times, cluster.behaviours
    )
    for labels, index, values in found:
        idx = range(index, index + len(values)) if isinstance(index, int) else index
        out += [(labels, times[i], v) for i, v in zip(idx, values, strict=True)]
    return out


def by_uuid(found) -> dict[str, dict[int, float]]:
    """UUID -> time -> value, checking that every series of a device agrees at each time."""
    out: dict = {}
    for labels, t, v in found:
        seen = out.setdefault(labels["UUID"], {})
        assert seen.setdefault(t, float(v)) == float(v), (labels, t)
    return out


def test_the_energy_families_are_named_helped_and_typed_as_the_exporter_prints_them(cluster):
    fams = {name: (mtype, text) for name, mtype, text in exporters.families("dcgm")}
    assert fams[ENERGY] == ("counter", "Total energy consumption since boot (in mJ).")
    assert fams[POWER] == ("gauge", "Power draw (in W).")
    assert fams[ACTIVE] == ("gauge", "Ratio of time the graphics engine is active.")
    text = cluster.exposition("/nodes/gpu-node-1/dcgm/metrics", HAND_OVER[0])
    assert f"# TYPE {ENERGY} counter" in text
    lines = {line.split("{")[0]: line.rsplit(" ", 1)[1] for line in text.splitlines()}
    assert lines[ENERGY].isdigit()  # an integer field: %d
    assert lines[POWER].endswith(".000000") and lines[ACTIVE].count(".") == 1  # doubles: %f


def test_a_gpus_series_carry_its_holders_labels_only_while_held(cluster):
    pods, _ = cluster.objects(*HAND_OVER)
    node = cluster.node_by_name["gpu-node-1"]
    holders = sorted(energy.holders_of(node, pods, 6), key=lambda h: h.lo)
    for family in (ENERGY, POWER, ACTIVE):
        found = [(lb, t) for lb, t, _ in samples(cluster, "gpu-node-1", family, *HAND_OVER)]
        gpu6 = [(lb, t) for lb, t in found if lb["gpu"] == "6"]
        assert len(gpu6) == HAND_OVER[1] - HAND_OVER[0]  # one value a second, whoever holds it
        for labels, t in gpu6:
            holder = next((h.pod for h in holders if h.lo <= t < h.hi), None)
            if holder is None:
                assert not set(POD_LABELS) & set(labels)
            else:
                assert (labels["pod"], labels["namespace"]) == (holder.name, holder.namespace)
        assert len({lb.get("pod") for lb, _ in gpu6}) == 3  # first holder, nobody, the next one


def test_the_counter_is_one_continuous_series_per_uuid_across_hand_overs(cluster):
    for node in ("gpu-node-1", "gpu-node-2", "gpu-node-3"):
        for uuid, values in by_uuid(samples(cluster, node, ENERGY, *HAND_OVER)).items():
            series = [values[t] for t in sorted(values)]
            assert len(series) == HAND_OVER[1] - HAND_OVER[0], uuid
            assert all(b > a for a, b in zip(series, series[1:], strict=False)), uuid


def test_the_counter_increase_is_the_exact_integral_of_the_power(cluster):
    for node in ("gpu-node-1", "gpu-node-2", "gpu-node-3"):
        counter = by_uuid(samples(cluster, node, ENERGY, *HAND_OVER))
        power = by_uuid(samples(cluster, node, POWER, *HAND_OVER))
        for uuid, values in counter.items():
            times = sorted(values)
            for t0, t1 in zip(times, times[1:], strict=False):
                assert values[t1] - values[t0] == power[uuid][t0] * 1000, (node, uuid, t0)


def test_mig_instances_report_their_whole_gpus_power_and_energy(cluster):
    found = samples(cluster, "gpu-node-3", ENERGY, *HAND_OVER)
    instances = {(lb["UUID"], lb["GPU_I_ID"]) for lb, _, _ in found}
    assert len(instances) > len({u for u, _ in instances})  # several instances per GPU ...
    by_uuid(found)  # ... all with the GPU's value at every time
    by_uuid(samples(cluster, "gpu-node-3", POWER, *HAND_OVER))
    own: dict = {}
    for labels, t, v in samples(cluster, "gpu-node-3", ACTIVE, *HAND_OVER):
        own.setdefault((labels["UUID"], t), set()).add(v)
    assert any(len(values) > 1 for values in own.values())  # but each instance its own activity


def test_time_sliced_gpus_copy_the_device_values_onto_each_listed_pod(cluster):
    found = samples(cluster, "gpu-node-2", ENERGY, *SHARING)
    by_uuid(found)
    listed: dict = {}
    for labels, t, _ in found:
        listed.setdefault((labels["UUID"], t), []).append(labels)
    assert any(len(labels) > 1 for labels in listed.values())  # pods sharing a GPU
    for labels in listed.values():
        pods = [lb for lb in labels if "pod" in lb]
        assert all("vgpu" in lb and "pod_uid" not in lb for lb in pods)
        assert len(labels) == (len(pods) or 1)  # the device's own series only when nobody is


def test_gr_engine_active_is_emitted_only_for_data_centre_models():
    consumer = make()
    node = consumer.node_by_name["gpu-node-1"]
    node.gpu_model = "NVIDIA GeForce RTX 3090"
    assert samples(consumer, "gpu-node-1", ACTIVE, *HAND_OVER) == []
    assert samples(consumer, "gpu-node-3", ACTIVE, *HAND_OVER)  # the A100s keep it
    util = {
        (lb["gpu"], t): int(v)
        for lb, t, v in samples(consumer, "gpu-node-1", dcgm.FAMILIES[2][0], *HAND_OVER)
    }
    for labels, t, v in samples(consumer, "gpu-node-1", POWER, *HAND_OVER):
        assert float(v) == 25 + 325 * util[(labels["gpu"], t)] * 10 // 1000  # from GPU_UTIL


def pod_energy_from_samples(cluster, t0: int, t1: int) -> dict[str, Fraction]:
    """mJ per pod: its GPUs' power a second at a time while held, split as the truth says."""
    out: dict = {}
    for node in ("gpu-node-1", "gpu-node-2", "gpu-node-3"):
        found = samples(cluster, node, POWER, t0, t1)
        sharing: dict = {}
        for labels, t, _ in found:
            if "pod" in labels:
                sharing[(labels["UUID"], t)] = sharing.get((labels["UUID"], t), 0) + 1
        for labels, t, v in found:
            if "pod" not in labels:
                continue
            if "GPU_I_PROFILE" in labels:
                part = Fraction(int(labels["GPU_I_PROFILE"].split("g.")[0]), 7)
            else:
                part = Fraction(1, sharing[(labels["UUID"], t)])
            out[labels["pod"]] = out.get(labels["pod"], 0) + Fraction(v) * 1000 * part
    return out


def truth_pods(truth) -> dict[str, dict]:
    return {p["name"]: p for job in truth["jobs"] for p in job["pods"]}


def test_a_pods_energy_in_the_truth_is_its_gpus_power_integrated_while_held(cluster, window_truth):
    window, truth = window_truth
    expected = pod_energy_from_samples(cluster, *window)
    pods = truth_pods(truth)
    assert len(expected) >= 5
    for name, mj in expected.items():
        got = pods[name]["quantities"]["gpu_energy_joules"]
        assert got["real"] == pytest.approx(float(mj / 1000), rel=1e-12), name
        assert got["observed"] == got["real"]  # no driver load: nothing unreadable
    held = [p for p in pods.values() if p["quantities"]["gpu_energy_joules"]["real"]]
    assert {p["name"] for p in held} == set(expected)
    for pod in held:  # MIG and time-sliced shares are estimates, whole GPUs are not
        assert pod.get("gpu_energy_estimate", False) == (pod["node"] != "gpu-node-1")


def test_held_and_idle_energy_add_up_to_the_counters_increase(cluster, truth):
    gpu = truth["gpu_energy"]
    for name, node in gpu["nodes"].items():
        ends = samples(cluster, name, ENERGY, HAND_OVER[0], HAND_OVER[0] + 1)
        ends += [
            (lb, t - 1000, v)  # the counter at the window's end
            for lb, t, v in samples(cluster, name, ENERGY, HAND_OVER[1], HAND_OVER[1] + 1)
        ]
        increase = sum(v[max(v)] - v[min(v)] for v in by_uuid(ends).values())
        assert node["total_energy_joules"] == increase / 1000
        assert node["held_energy_joules"] + node["idle_energy_joules"] == pytest.approx(
            node["total_energy_joules"], rel=1e-12
        )
        hours = node["hours"]
        assert sum(h["total_energy_joules"] for h in hours) == node["total_energy_joules"]
    pods = sum(p["quantities"]["gpu_energy_joules"]["real"] for p in truth_pods(truth).values())
    assert pods == pytest.approx(gpu["held_energy_joules"], rel=1e-12)
    assert gpu["held_energy_joules"] + gpu["idle_energy_joules"] == pytest.approx(
        gpu["total_energy_joules"], rel=1e-12
    )
    assert truth["totals"]["gpu_energy_joules"]["real"] == pytest.approx(pods, rel=1e-12)


def test_busy_and_idle_seconds_integrate_the_activity_while_held(cluster, window_truth):
    window, truth = window_truth
    busy: dict = {}
    idle: dict = {}

    def add(pod, activity, weight):
        busy[pod] = busy.get(pod, 0) + weight * activity
        idle[pod] = idle.get(pod, 0) + weight * (activity < Fraction(5, 100))

    for node in ("gpu-node-1", "gpu-node-3"):  # GR_ENGINE_ACTIVE of the GPU or MIG instance
        for labels, _, v in samples(cluster, node, ACTIVE, *window):
            if "pod" in labels:
                profile = labels.get("GPU_I_PROFILE")
                weight = Fraction(int(profile.split("g.")[0]), 7) if profile else 1
                add(labels["pod"], Fraction(v), weight)
    util = samples(cluster, "gpu-node-2", dcgm.FAMILIES[2][0], *window)
    for labels, _, v in util:  # time-sliced: the pod's own GPU_UTIL, a quarter GPU each
        if "pod_uid" in labels:
            add(labels["pod"], Fraction(v, 100), Fraction(1, 4))
    pods = truth_pods(truth)
    for name in busy:
        q = pods[name]["quantities"]
        assert q["gpu_busy_seconds"]["real"] == pytest.approx(float(busy[name]), rel=1e-9)
        assert q["gpu_idle_seconds"]["real"] == pytest.approx(float(idle[name]), rel=1e-9)
    assert any(b > i for b, i in zip(busy.values(), idle.values(), strict=True))


def test_the_idle_threshold_is_a_truth_parameter(tmp_path):
    outs = []
    for percent in ("5", "50"):
        out = tmp_path / f"truth-{percent}.json"
        args = ["truth", "--seed", "3", "--nodes", "1", "--gpu-nodes", "1", "--jobs-per-hour", "4"]
        window = ["--start", "2024-05-01T08:00:00Z", "--end", "2024-05-01T08:20:00Z"]
        assert main([*args, *window, "--gpu-idle-percent", percent, "--out", str(out)]) == 0
        outs.append(json.loads(out.read_text()))
    assert [t["parameters"]["gpu_idle_percent"] for t in outs] == [5, 50]
    idle = [t["totals"]["gpu_idle_seconds"]["real"] for t in outs]
    assert idle[0] < idle[1]


def test_the_counter_restarts_only_when_the_driver_loads(cluster):
    reloaded = make("driver-reload")
    window = (RELOAD - 300, RELOAD + 300)
    for c, loads in ((cluster, []), (reloaded, [RELOAD * 1000])):
        counter = by_uuid(samples(c, "gpu-node-1", ENERGY, *window))
        for values in counter.values():
            times = sorted(values)
            drops = [
                t1 for t0, t1 in zip(times, times[1:], strict=False) if values[t1] < values[t0]
            ]
            assert drops == loads
            assert all(values[t] == 0 for t in loads)
    held = {
        (lb["gpu"], lb.get("pod"))
        for lb, t, _ in samples(reloaded, "gpu-node-1", ENERGY, RELOAD - 1, RELOAD + 1)
    }
    assert len(held) == 8 and any(pod for _, pod in held)  # a pod holds a GPU through it
    sunday = int(datetime(2024, 5, 5, tzinfo=UTC).timestamp())  # the weekly maintenance load
    for labels, t, v in samples(cluster, "gpu-node-1", ENERGY, sunday - 2, sunday + 2):
        assert "pod" not in labels and (int(v) == 0) == (t == sunday * 1000)


def test_the_driver_reload_changes_nothing_that_happened(truth):
    reloaded = make("driver-reload").truth(*HAND_OVER)
    assert reloaded["gpu_energy"]["nodes"] == truth["gpu_energy"]["nodes"]  # no load here
    window = (RELOAD - 1800, RELOAD + 1800)
    before, after = make().truth(*window), make("driver-reload").truth(*window)
    for name, pod in truth_pods(before).items():
        for q, v in pod["quantities"].items():
            assert truth_pods(after)[name]["quantities"][q]["real"] == v["real"], (name, q)
    loads = after["gpu_energy"]["nodes"]["gpu-node-1"].pop("driver_loads")
    assert loads == ["2024-05-01T07:18:16.000Z"]
    assert before["gpu_energy"]["nodes"]["gpu-node-1"].pop("driver_loads") == []
    assert after["gpu_energy"] == before["gpu_energy"]
    # what nobody can read: the held energy between the last sample and the load
    lost = [
        (p["quantities"]["gpu_energy_joules"], len(p["containers"][0]["gpus"]))
        for p in truth_pods(after).values()
        if p["quantities"]["gpu_energy_joules"]["observed"]
        < p["quantities"]["gpu_energy_joules"]["real"]
    ]
    assert len(lost) == 1
    (q, gpus), interval = lost[0], 30
    assert (
        0
        < q["real"] - q["observed"]
        <= interval * energy.MODELS["NVIDIA A100-SXM4-80GB"].tdp_w * gpus
    )


OLD = ("DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_UTIL")
NEW_QUANTITIES = ("gpu_energy_joules", "gpu_busy_seconds", "gpu_idle_seconds")
# Digests of the simulator before the energy families (commit fcd281c), for these clusters.
DIGESTS = [
    (
        {"seed": 3, "nodes": 1, "gpu_nodes": 2, "jobs_per_hour": 4},
        "dd6175dcc8b1f5d4bbaf505897490c1ed8de27182144d08810a63299d1293887",
        "871b78f0a483015b682005afe4102d0c027ec5614849e4b014a2159fb7e18c75",
    ),
    (
        {
            "seed": 5,
            "nodes": 1,
            "gpu_nodes": 3,
            "jobs_per_hour": 4,
            "behaviours": ("mig", "shared-gpu", "stale-gpu-labels", "idle-gpu-memory"),
        },
        "c2948a73abf71279f091aca1b7aa1dc9bed1187e4d5ba90992d26c5e5c2a699b",
        "96ccfd254d71534e9be4998ed53af21361ae5178d7cd8409b3d08caa60b49874",
    ),
]


def old_dcgm_lines(cluster, start, end) -> str:
    buf = io.StringIO()
    cluster.history(start, end, buf)
    return "".join(
        line
        for line in buf.getvalue().splitlines(True)
        if line.split("{")[0].split(" ")[-1] in OLD
        or any(line.startswith(f"# {k} {name} ") for k in ("HELP", "TYPE") for name in OLD)
    )


def old_quantities(truth) -> str:
    """Every job's, pod's and claim's quantities but the new ones, and the totals."""
    keep = []
    for job in truth["jobs"]:
        keep.append([job["namespace"], job["name"], job["quantities"]])
        keep += [[p["uid"], p["quantities"]] for p in job["pods"]]
    keep += [[c["name"], c["quantities"]] for c in truth["pvcs"]]
    keep.append(truth["totals"])
    text = json.dumps(keep, sort_keys=True)
    for q in NEW_QUANTITIES:
        assert q in text
    return json.dumps(
        json.loads(
            text, object_hook=lambda d: {k: v for k, v in d.items() if k not in NEW_QUANTITIES}
        ),
        sort_keys=True,
    )


@pytest.mark.parametrize(("options", "history_digest", "truth_digest"), DIGESTS)
def test_the_older_dcgm_families_and_truth_quantities_are_unchanged(
    options, history_digest, truth_digest
):
    cluster = Cluster(**options)
    start, end = datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 1, 10, 10, tzinfo=UTC)
    text = old_dcgm_lines(cluster, start, end)
    assert all(f"# TYPE {name} gauge" in text for name in OLD)
    truth = cluster.truth(start, datetime(2024, 5, 1, 12, tzinfo=UTC))
    digests = [hashlib.sha256(x.encode()).hexdigest() for x in (text, old_quantities(truth))]
    assert digests == [history_digest, truth_digest]


def test_a_reader_of_the_scraped_samples_gets_busy_seconds_within_one_interval(cluster, truth):
    """Each sample stands for the time up to the next, the first also from the pod's start, all
    clipped to the holding: within one scrape interval per GPU, as docs/simulator.md says."""
    t0, t1 = HAND_OVER
    node = cluster.node_by_name["gpu-node-1"]
    times = cluster.scrape_times(cluster.target("/nodes/gpu-node-1/dcgm/metrics"), t0, t1)
    pods = {p.name: p for p in cluster.objects(t0, t1)[0]}
    found = dcgm.series(cluster.seed, node, list(pods.values()), ACTIVE, times, cluster.behaviours)
    read: dict = {}
    for labels, index, values in found:
        if "pod" not in labels:
            continue
        pod = pods[labels["pod"]]
        lo, hi = max(pod.running, t0) * 1000, min(pod.completed, t1) * 1000
        for k, (i, v) in enumerate(zip(index, values, strict=True)):
            start = lo if k == 0 else times[i]
            end = min(hi, times[i + 1] if i + 1 < len(times) else t1 * 1000)
            read[pod.name] = read.get(pod.name, 0) + float(v) * (end - start) / 1000
    real = {
        name: q["quantities"]["gpu_busy_seconds"]["real"] for name, q in truth_pods(truth).items()
    }
    assert max(real[name] for name in read) > 10 * cluster.scrape_interval
    for name, seconds in read.items():
        gpus = len(pods[name].containers[0].gpus)
        assert abs(seconds - real[name]) <= cluster.scrape_interval * gpus, name
