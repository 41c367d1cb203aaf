"""Deterministic per-minute usage levels and their exact integrals.

Every usage quantity of every simulated object (CPU rate of a container instance, working set,
network rate of a sandbox, GPU memory of a device, ...) is piecewise constant over 60-second
segments aligned to epoch minutes. The level of a segment depends only on a string key and the
segment, so any time window sees the same values. Levels are integers and times are integer
milliseconds, so integrals are exact integers (level x ms) whatever order they are summed in.
"""

import hashlib
import random
from array import array
from itertools import accumulate

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
WEEK_HOURS = 168
# Hours of minutes a Levels keeps: a counter reads the hour of its origin and the hour it is
# at. A third would be filled only by windows of two hours or more: memory would grow with
# the window.
HOURS_KEPT = 2


def stable_int(*parts) -> int:
    """Return a 64-bit integer that depends only on `parts` (not on PYTHONHASHSEED)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def hex_id(*parts, length: int = 64) -> str:
    """Return a stable lowercase hex id (container ids are 64 hex chars)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=32).hexdigest()
    return digest[:length]


def stable_uid(*parts) -> str:
    """Return a stable UUID4-shaped string for Kubernetes object uids."""
    h = hex_id("uid", *parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def pod_suffix(*parts, length: int = 5) -> str:
    """Return the random-looking suffix Kubernetes appends to generated names."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of k8s utilrand.String
    n = stable_int("suffix", *parts)
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


class Levels:
    """Integer levels of one quantity, one per epoch minute, with exact prefix integrals.

    `periodic=True` makes the levels repeat weekly, so objects that have existed for years
    (nodes, long-running Deployments) still have O(1) integrals from their start.
    `smooth=True` suits memory-like gauges: instead of a new random level every minute, the
    level moves linearly between random hourly anchors, with a jitter of 1 % of the range,
    as a working set or GPU memory does (a rate-like quantity keeps independent levels).

    Memory per object is bounded whatever the window: the minutes of the last `HOURS_KEPT`
    hours drawn, and the hour sums a prefix needs (a week of them when periodic), as arrays.
    """

    __slots__ = ("key", "lo", "hi", "periodic", "smooth", "_hours", "_cum", "_origin", "_week")

    def __init__(
        self,
        key: str,
        lo: int,
        hi: int,
        origin_ms: int = 0,
        periodic: bool = False,
        smooth: bool = False,
    ):
        self.key = key
        self.lo = lo
        self.hi = hi
        self.periodic = periodic
        self.smooth = smooth
        self._hours: dict[int, array] = {}
        self._origin = origin_ms // HOUR_MS
        self._cum = array("q", [0])  # _cum[i] = sum of hour sums of hours origin .. origin+i-1
        self._week: array | None = None

    def hour(self, h: int) -> array:
        """Return the levels of the 60 minutes of hour `h`."""
        if self.periodic:
            h %= WEEK_HOURS
        lv = self._hours.get(h)
        if lv is None:
            lv = array("q", self._draw(h))
            if len(self._hours) >= HOURS_KEPT:
                self._hours.clear()
            self._hours[h] = lv
        return lv

    def _draw(self, h: int) -> list[int]:
        """The levels of hour `h` (of the week when periodic), drawn from the key."""
        rnd = random.Random(f"{self.key}:{h}").random
        lo, span = self.lo, self.hi - self.lo + 1
        if self.smooth:
            lv = self._smooth_minutes(h, rnd)
        else:
            lv = [lo + int(rnd() * span) for _ in range(60)]
        if lo < 0:  # negative lows clamp to 0: rare bursts for error counters
            lv = [v if v > 0 else 0 for v in lv]
        return lv

    def _hour_sum(self, h: int) -> int:
        """Sum of the levels of hour `h`, drawn without keeping them when not kept already."""
        if self.periodic:
            h %= WEEK_HOURS
        lv = self._hours.get(h)
        return sum(self._draw(h) if lv is None else lv)

    def _anchor(self, h: int) -> int:
        if self.periodic:
            h %= WEEK_HOURS
        return self.lo + int(random.Random(f"{self.key}:anchor:{h}").random() * (self.hi - self.lo))

    def _smooth_minutes(self, h: int, rnd) -> list[int]:
        a0, a1 = self._anchor(h), self._anchor(h + 1)
        jitter = max(1, (self.hi - self.lo) // 100)
        return [
            min(
                self.hi,
                max(self.lo, a0 + (a1 - a0) * m // 60 + int(rnd() * (2 * jitter + 1)) - jitter),
            )
            for m in range(60)
        ]

    def at(self, t_ms: int) -> int:
        """Return the level in force at `t_ms`."""
        return self.hour(t_ms // HOUR_MS)[(t_ms // MINUTE_MS) % 60]

    def _hour_sums_before(self, h: int) -> int:
        """Sum of the hour sums (in level-minutes) of all hours before `h` since the origin."""
        if self.periodic:
            if self._week is None:
                self._week = array(
                    "q", accumulate(map(self._hour_sum, range(WEEK_HOURS)), initial=0)
                )
            return (h // WEEK_HOURS) * self._week[-1] + self._week[h % WEEK_HOURS]
        cum = self._cum
        while len(cum) <= h - self._origin:
            cum.append(cum[-1] + self._hour_sum(self._origin + len(cum) - 1))
        return cum[h - self._origin]

    def prefix(self, t_ms: int) -> int:
        """Return the integral of the levels from the origin to `t_ms`, in level x ms."""
        h = t_ms // HOUR_MS
        lv = self.hour(h)
        m = (t_ms // MINUTE_MS) % 60
        return (self._hour_sums_before(h) + sum(lv[:m])) * MINUTE_MS + lv[m] * (t_ms % MINUTE_MS)

    def integral(self, a_ms: int, b_ms: int) -> int:
        """Return the exact integral over [a_ms, b_ms) in level x ms (0 if empty)."""
        if b_ms <= a_ms:
            return 0
        return self.prefix(b_ms) - self.prefix(a_ms)

    def values(self, times) -> list[int]:
        """Levels at each of the sorted `times` (one hour lookup per hour, not per sample)."""
        out = []
        cur = None
        lv = array("q")
        for t in times:
            h = t // HOUR_MS
            if h != cur:
                cur, lv = h, self.hour(h)
            out.append(lv[(t // MINUTE_MS) % 60])
        return out

    def prefixes(self, times) -> list[int]:
        """`prefix(t)` for each of the sorted `times`, hour sums looked up once per hour."""
        out = []
        cur = None
        lv = array("q")
        pre: list[int] = []
        base = 0
        for t in times:
            h = t // HOUR_MS
            if h != cur:
                cur, lv = h, self.hour(h)
                pre = list(accumulate(lv, initial=0))
                base = self._hour_sums_before(h)
            m = (t // MINUTE_MS) % 60
            out.append((base + pre[m]) * MINUTE_MS + lv[m] * (t % MINUTE_MS))
        return out


class Mapped(Levels):
    """Levels of `f(level)` of another Levels, minute by minute: derived gauges (GPU power,
    activity from utilisation), with the same exact prefix integrals. Nothing is drawn."""

    __slots__ = ("base", "f")

    def __init__(self, base: Levels, f, key: str):
        super().__init__(f"{base.key}:{key}", 0, 0, base._origin * HOUR_MS, base.periodic)
        self.base, self.f = base, f

    def _draw(self, h: int) -> list[int]:
        return [self.f(v) for v in self.base.hour(h)]
