"""The interval attribution of GPU energy (billing/collection/energy.py), on explicit samples."""

import math

import pytest

from billing.collection.energy import (
    GR_ACTIVE,
    UTIL,
    Device,
    Holding,
    Piece,
    around_hour,
    hour_energy,
    hour_pieces,
    increments,
    power_parts,
    split,
)

H0 = 1_772_431_200.0  # 2026-03-02T06:00Z
H1 = H0 + 3600


def every_second(node, lo, hi, count):
    """Each sample stands for the holding's time (no data gaps)."""
    return hi - lo


def no_gap(node, t0, t1):
    return False


def test_a_counter_drop_counts_the_new_value_from_zero():
    samples = [(0.0, 1_000.0), (30.0, 7_000.0), (60.0, 2_000.0), (90.0, 5_000.0)]
    assert [mj for _, _, mj in increments(samples)] == [6_000.0, 2_000.0, 3_000.0]


def test_the_intervals_across_the_hours_edges_are_split_pro_rata_and_add_up():
    samples = [(H0 - 10, 0.0), (H0 + 20, 30_000.0), (H1 - 15, 90_000.0), (H1 + 15, 120_000.0)]
    hour = hour_pieces(around_hour(samples, H0, H1), H0, H1)
    assert [p[:3] for p in hour] == [
        (H0, H0 + 20, 20.0),
        (H0 + 20, H1 - 15, 60.0),
        (H1 - 15, H1, 15.0),
    ]
    before = hour_pieces(around_hour(samples, H0 - 3600, H0), H0 - 3600, H0)
    after = hour_pieces(around_hour(samples, H1, H1 + 3600), H1, H1 + 3600)
    total = sum(p.joules for p in before + hour + after)
    assert total == pytest.approx(120.0, abs=1e-12)


def test_without_power_samples_a_hand_over_is_split_by_time_and_the_unheld_part_is_idle():
    pieces = [Piece(H0, H0 + 30, 300.0)]
    holdings = [
        Holding(("lab", "first"), "", 1.0, H0 - 100, H0 + 10),
        Holding(("lab", "second"), "", 1.0, H0 + 20, H1),
    ]
    held, idle = split(pieces, holdings)
    assert held == {("lab", "first"): [100.0], ("lab", "second"): [100.0]}
    assert math.fsum(idle) == pytest.approx(100.0)


def test_an_interval_cut_by_a_start_is_split_by_the_power_sampled_at_each_end():
    # 60 W idle for 10 s, then 300 W for 20 s: 600 + 6000 J, sampled 60 W and 300 W.
    pieces = [Piece(H0, H0 + 30, 6_600.0, 60.0, 300.0)]
    held, idle = split(pieces, [Holding(("lab", "p"), "", 1.0, H0 + 10, H1)])
    assert held == {("lab", "p"): [pytest.approx(6_000.0)]}
    assert math.fsum(idle) == pytest.approx(600.0)


def test_a_hand_over_inside_an_interval_takes_the_mean_power_between_the_two_cuts():
    # The first pod works at 300 W until +10 s, the GPU idles, the second starts at +20 s
    # and works at 100 W: sampled 300 W and 100 W, the gap between taken at 200 W.
    pieces = [Piece(H0, H0 + 30, 6_000.0, 300.0, 100.0)]
    holdings = [
        Holding(("lab", "first"), "", 1.0, H0 - 100, H0 + 10),
        Holding(("lab", "second"), "", 1.0, H0 + 20, H1),
    ]
    held, idle = split(pieces, holdings)
    assert held[("lab", "first")] == [pytest.approx(3_000.0)]
    assert held[("lab", "second")] == [pytest.approx(1_000.0)]
    assert math.fsum(idle) == pytest.approx(2_000.0)


def test_a_power_split_falls_back_to_time_when_a_sample_is_missing_or_both_are_zero():
    holding = [Holding(("lab", "p"), "", 1.0, H0 + 10, H1)]
    for w0, w1 in ((None, 300.0), (60.0, None), (0.0, 0.0)):
        held, _ = split([Piece(H0, H0 + 30, 300.0, w0, w1)], holding)
        assert held == {("lab", "p"): [pytest.approx(200.0)]}, (w0, w1)


def test_the_power_split_of_an_interval_keeps_its_energy_whatever_the_cuts():
    piece = Piece(H0, H0 + 30, 1_234.5, 55.0, 400.0)
    for cuts in ([], [H0 + 1], [H0 + 3, H0 + 29], [H0 + 5, H0 + 6, H0 + 7]):
        parts = power_parts(piece, cuts)
        assert math.fsum(j for _, _, j in parts) == pytest.approx(1_234.5, rel=1e-12)
        assert [a for a, _, _ in parts] == [H0, *cuts]


def test_mig_instances_get_their_slice_fraction_and_the_rest_stays_idle():
    pieces = [Piece(H0, H0 + 30, 70.0)]
    holdings = [
        Holding(("lab", "a"), "1", 3 / 7, H0, H1),
        Holding(("lab", "b"), "2", 2 / 7, H0, H1),
    ]
    held, idle = split(pieces, holdings)
    assert held[("lab", "a")] == [pytest.approx(30.0)]
    assert held[("lab", "b")] == [pytest.approx(20.0)]
    assert math.fsum(idle) == pytest.approx(20.0)


def test_a_time_sliced_gpu_is_shared_equally_by_the_pods_holding_it_at_each_instant():
    pieces = [Piece(H0, H0 + 30, 90.0)]
    holdings = [Holding(("lab", "a"), "", 1.0, H0, H1), Holding(("lab", "b"), "", 1.0, H0 + 15, H1)]
    held, idle = split(pieces, holdings)
    assert math.fsum(held[("lab", "a")]) == pytest.approx(45.0 + 22.5)
    assert math.fsum(held[("lab", "b")]) == pytest.approx(22.5)
    assert math.fsum(idle) == pytest.approx(0.0, abs=1e-12)


def test_an_hour_gives_held_energy_busy_and_idle_seconds_and_node_idle_energy():
    device = Device("gpu-node-1")
    # 100 W throughout, sampled every 30 s: a counter in mJ.
    device.samples = [(H0 - 15 + 30 * i, 100_000.0 * 30 * i) for i in range(122)]
    device.holders = {("", "", "lab", "p"), ("", "", "kube-system", "dcgm-exporter")}
    times = [H0 + 600 + 30 * i for i in range(60)]
    device.activity[("", "lab", "p", GR_ACTIVE)] = [
        (t, 0.5 if i < 40 else 0.01) for i, t in enumerate(times)
    ]
    device.activity[("", "lab", "p", UTIL)] = [(t, 0.9) for t in times]
    # The exporter's own pod requested no GPU: it is no holder.
    intervals = {("lab", "p"): (H0 + 600, H0 + 2400)}
    pods, idle = hour_energy(
        {("gpu-node-1", "GPU-1"): device}, intervals, H0, {}, 5, every_second, no_gap
    )
    pod = pods[("lab", "p")]
    assert math.fsum(pod.joules) == pytest.approx(100 * 1800)
    assert math.fsum(idle["gpu-node-1"]) == pytest.approx(100 * 1800)
    # GR_ENGINE_ACTIVE wins over GPU_UTIL: 40 samples at 0.5, 20 below 5 %.
    assert math.fsum(pod.busy) == pytest.approx((40 * 0.5 + 20 * 0.01) / 60 * 1800)
    assert math.fsum(pod.idle) == pytest.approx(20 / 60 * 1800)
    assert not pod.estimated


def test_mig_and_time_sliced_holdings_are_flagged_as_estimates():
    for mig, shared in ((True, False), (False, True)):
        device = Device("n", [(H0, 0.0), (H1, 3_600_000.0)], mig=mig, shared=shared)
        device.holders = {("1" if mig else "", "3g.40gb" if mig else "", "lab", "p")}
        pods, _ = hour_energy(
            {("n", "u"): device}, {("lab", "p"): (H0, H1)}, H0, {}, 5, every_second, no_gap
        )
        assert pods[("lab", "p")].estimated
        expected = 3600 * 3 / 7 if mig else 3600
        assert math.fsum(pods[("lab", "p")].joules) == pytest.approx(expected)


def test_an_interval_hidden_by_a_gap_too_long_to_bridge_is_idle_energy_not_the_holders():
    device = Device("n")
    # 100 W, sampled every 30 s but for 75 minutes from H0 + 600 s.
    times = [H0 - 30 + 30 * i for i in range(20)] + [H0 + 600 + 4500 + 30 * i for i in range(5)]
    device.samples = [(t, 100_000.0 * (t - H0)) for t in times]
    device.holders = {("", "", "lab", "p")}

    def hidden(node, t0, t1):
        return t0 < H0 + 600 + 4500 and t1 > H0 + 570 + 30

    pods, idle = hour_energy(
        {("n", "u"): device}, {("lab", "p"): (H0, H1)}, H0, {}, 5, every_second, hidden
    )
    assert math.fsum(pods[("lab", "p")].joules) == pytest.approx(100 * 540)
    assert math.fsum(idle["n"]) == pytest.approx(100 * (3600 - 540))
