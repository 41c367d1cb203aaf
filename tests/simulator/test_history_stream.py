"""History written as a stream: the same samples and truth as the writer before it, handed to
the file one series at a time, and usage levels that keep a bounded number of hours.

The digests were recorded with `sorted_lines_digest` and `truth_digest` below run on the
simulator of commit 65626d5, the last before the stream (its writer kept every level of every
object for the whole window and buffered thousands of series). A deliberate change of the
simulator's samples re-records them; a change of the writer never may.
"""

import hashlib
import io
import json
import random
from datetime import UTC, datetime

import pytest

from simulator.behaviours import parse_behaviours
from simulator.cluster import Cluster
from simulator.levels import HOUR_MS, HOURS_KEPT, Levels

CASES = {
    # steady pods (weekly-periodic levels) over a window of four clock hours
    "steady": (
        {"seed": 1, "nodes": 2, "gpu_nodes": 1, "steady_pods": 24, "scrape_interval": 60},
        datetime(2026, 3, 2, 4, 40, tzinfo=UTC),
        datetime(2026, 3, 2, 7, 10, tzinfo=UTC),
    ),
    # every behaviour (MIG, shared GPUs, restarts, outages) across an hour's edge
    "all": (
        {"seed": 28, "nodes": 2, "gpu_nodes": 2, "steady_pods": 8, "behaviours": "all"},
        datetime(2026, 3, 2, 5, 50, tzinfo=UTC),
        datetime(2026, 3, 2, 6, 10, tzinfo=UTC),
    ),
}
BEFORE_STREAM = {  # case -> (sample lines, sorted-lines digest, truth digest)
    "steady": (
        597_621,
        "161ad8c1b2688cb9f9955e6a04f512c256d82a1596d0956b7937079383363d7d",
        "84cd861e677f6ec29b145fa2c74415e335e5f99257205af927beb877a0b5a193",
    ),
    "all": (
        456_507,
        "50493364035121809685bc6d68c64cb8d55639398818bef1e1fec40b5c4b7acd",
        "14e1ad170648683e275b4b946bb2a924b8f3507f59d498d183a804e2298d9b9f",
    ),
}


def case_cluster(name: str) -> tuple[Cluster, datetime, datetime]:
    params, start, end = CASES[name]
    params = {**params, "behaviours": parse_behaviours(params.get("behaviours", ""))}
    return Cluster(jobs_per_hour=30, **params), start, end


def sorted_lines_digest(text: str) -> tuple[int, str]:
    """(line count, sha256 of the lines sorted, each ended by a newline)."""
    lines = sorted(text.splitlines())
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode() + b"\n")
    return len(lines), digest.hexdigest()


def truth_digest(truth: dict) -> str:
    return hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest()


class RecordingFile(io.StringIO):
    """A text file that counts the series (label sets) of the samples of every write."""

    def __init__(self):
        super().__init__()
        self.series_per_write: list[int] = []

    def write(self, text: str) -> int:
        samples = (line for line in text.splitlines() if not line.startswith("#"))
        self.series_per_write.append(len({line.rsplit(" ", 2)[0] for line in samples}))
        return super().write(text)


@pytest.mark.parametrize("case", CASES)
def test_the_history_has_the_samples_and_the_truth_of_the_writer_before_the_stream(case):
    cluster, start, end = case_cluster(case)
    buf = io.StringIO()
    cluster.history(start, end, buf)
    count, digest = sorted_lines_digest(buf.getvalue())
    assert (count, digest, truth_digest(cluster.truth(start, end))) == BEFORE_STREAM[case]


def test_the_writer_hands_the_file_one_series_at_a_time():
    cluster, start, end = case_cluster("steady")
    out = RecordingFile()
    stats = cluster.history(start, end, out)
    assert max(out.series_per_write) == 1
    assert sum(out.series_per_write) == stats["series"] > 8000
    assert len(out.getvalue()) == stats["bytes"]


@pytest.mark.parametrize("periodic", [False, True])
def test_levels_read_over_two_days_keep_a_few_hours_and_give_the_values_of_a_fresh_read(periodic):
    start = 1_772_409_600_000  # 2026-03-02 00:00 UTC
    times = list(range(start, start + 48 * HOUR_MS, 45_000))
    read = Levels("sandbox:cpu", 5, 400, start - 5 * HOUR_MS, periodic)
    values, prefixes = read.values(times), read.prefixes(times)
    assert len(read._hours) <= HOURS_KEPT
    shuffled = random.Random(1).sample(range(len(times)), 200)
    for i in shuffled:
        fresh = Levels("sandbox:cpu", 5, 400, start - 5 * HOUR_MS, periodic)
        assert (fresh.at(times[i]), fresh.prefix(times[i])) == (values[i], prefixes[i])
        assert read.prefix(times[i]) == prefixes[i]
