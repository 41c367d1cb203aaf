"""Deterministic per-minute usage levels and their exact integrals.

Every usage quantity of every simulated object (CPU rate of a container instance, working set,
network rate of a sandbox, GPU memory of a device, ...) is piecewise constant over 60-second
segments aligned to epoch minutes. The level of a segment depends only on a string key and the
segment, so any time window sees the same values. Levels are integers and times are integer
milliseconds, so integrals are exact integers (level x ms) whatever order they are summed in.
"""

import hashlib
import random

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
WEEK_HOURS = 168


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
        self._hours: dict[int, tuple[list[int], list[int]]] = {}
        self._origin = origin_ms // HOUR_MS
        self._cum = [0]  # _cum[i] = sum of hour sums of hours origin .. origin+i-1
        self._week: list[int] | None = None

    def hour(self, h: int) -> tuple[list[int], list[int]]:
        """Return (levels, prefix sums) of the 60 minutes of hour `h` (prefix has 61 items)."""
        if self.periodic:
            h %= WEEK_HOURS
        cached = self._hours.get(h)
        if cached is None:
            rng = random.Random(f"{self.key}:{h}")
            lo, span = self.lo, self.hi - self.lo + 1
            rnd = rng.random
            if self.smooth:
                lv = self._smooth_minutes(h, rnd)
            else:
                lv = [lo + int(rnd() * span) for _ in range(60)]
            if lo < 0:  # negative lows clamp to 0: rare bursts for error counters
                lv = [max(0, v) for v in lv]
            pre = [0] * 61
            acc = 0
            for i, v in enumerate(lv):
                acc += v
                pre[i + 1] = acc
            cached = (lv, pre)
            self._hours[h] = cached
        return cached

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
        return self.hour(t_ms // HOUR_MS)[0][(t_ms // MINUTE_MS) % 60]

    def _hour_sums_before(self, h: int) -> int:
        """Sum of the hour sums (in level-minutes) of all hours before `h` since the origin."""
        if self.periodic:
            if self._week is None:
                week = [0]
                for i in range(WEEK_HOURS):
                    week.append(week[-1] + self.hour(i)[1][60])
                self._week = week
            return (h // WEEK_HOURS) * self._week[-1] + self._week[h % WEEK_HOURS]
        cum = self._cum
        while len(cum) <= h - self._origin:
            cum.append(cum[-1] + self.hour(self._origin + len(cum) - 1)[1][60])
        return cum[h - self._origin]

    def prefix(self, t_ms: int) -> int:
        """Return the integral of the levels from the origin to `t_ms`, in level x ms."""
        h = t_ms // HOUR_MS
        m_start = (t_ms // MINUTE_MS) * MINUTE_MS
        lv, pre = self.hour(h)
        m = (t_ms // MINUTE_MS) % 60
        return (self._hour_sums_before(h) + pre[m]) * MINUTE_MS + lv[m] * (t_ms - m_start)

    def integral(self, a_ms: int, b_ms: int) -> int:
        """Return the exact integral over [a_ms, b_ms) in level x ms (0 if empty)."""
        if b_ms <= a_ms:
            return 0
        return self.prefix(b_ms) - self.prefix(a_ms)

    def values(self, times) -> list[int]:
        """Levels at each of the sorted `times` (one hour lookup per hour, not per sample)."""
        out = []
        cur = None
        lv: list[int] = []
        for t in times:
            h = t // HOUR_MS
            if h != cur:
                cur, lv = h, self.hour(h)[0]
            out.append(lv[(t // MINUTE_MS) % 60])
        return out

    def prefixes(self, times) -> list[int]:
        """`prefix(t)` for each of the sorted `times`, hour sums looked up once per hour."""
        out = []
        cur = None
        lv: list[int] = []
        pre: list[int] = []
        base = 0
        for t in times:
            h = t // HOUR_MS
            if h != cur:
                cur, (lv, pre) = h, self.hour(h)
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

    def hour(self, h: int) -> tuple[list[int], list[int]]:
        if self.periodic:
            h %= WEEK_HOURS
        cached = self._hours.get(h)
        if cached is None:
            lv = [self.f(v) for v in self.base.hour(h)[0]]
            pre = [0] * 61
            for i, v in enumerate(lv):
                pre[i + 1] = pre[i] + v
            cached = self._hours[h] = (lv, pre)
        return cached
