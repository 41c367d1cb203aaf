"""Read a chunk's GPU energy, power and activity samples by device: two raw reads per chunk.

One raw read of the counter and the power gauge together, one of the two activity families
(billing.collection.energy says what is made of them):
- the energy counter (mJ) and the power gauge (W) of every device, from the last sample
  before the chunk to the first after it: the run's first chunk looks back
  KUBEMON_COUNTER_LOOKBACK for it, the next ones start from each device's last sample carried
  from the chunk before (reader.energy_history);
- GR_ENGINE_ACTIVE and GPU_UTIL inside the chunk's hours (only the held series are kept: the
  `pod` label may be the exporter's own or the holder's, depending on honor_labels, so it
  cannot be filtered on the server).
Every series of a device (node, UUID) is merged into one: its holders' label sets over time,
MIG instances and time-sliced copies (the whole GPU's value each), and the replicas of an HA
pair (the same counter, scraped twice) all count once.
"""

from datetime import datetime, timedelta

from billing.collection.energy import ENERGY, GR_ACTIVE, POWER, UTIL, Device
from billing.collection.series import object_labels
from billing.utc import HOUR

MS = timedelta(milliseconds=1)


def device_of(devices: dict, labels: dict) -> Device | None:
    """The device a series belongs to (made on first sight), None without a UUID."""
    uuid = labels.get("UUID", "")
    if not uuid:
        return None
    node = labels.get("Hostname", "")
    device = devices.get((node, uuid))
    if device is None:
        device = devices[(node, uuid)] = Device(node)
    device.mig = device.mig or "GPU_I_ID" in labels
    device.shared = device.shared or "vgpu" in labels
    return device


def holder(labels: dict) -> tuple[str, str, str, str] | None:
    """(slot, MIG profile, namespace, pod) of a series carrying a pod, else None."""
    if not labels.get("pod"):
        return None
    return (
        labels.get("GPU_I_ID", ""),
        labels.get("GPU_I_PROFILE", ""),
        labels.get("namespace", ""),
        labels["pod"],
    )


def raw(reader, names: tuple[str, ...], start: datetime, end: datetime) -> list:
    """(family, objects' labels, [(t, v)]) of every series of the families' samples in
    [start, end), one query."""
    seconds = (end - start).total_seconds()
    selector = reader.q.sel("", f'__name__=~"{"|".join(names)}"')
    answer = reader.timed(reader.client.query, f"{selector}[{round(seconds * 1000)}ms]", end - MS)
    return [
        (
            s["metric"].get("__name__", ""),
            object_labels(s["metric"]),
            [(float(t), float(v)) for t, v in s["values"]],
        )
        for s in answer
    ]


def read_gpu_energy(reader, data: dict, hours: list[datetime]) -> None:
    """Fill data[hour].gpu_devices of the chunk's hours: every device's merged samples."""
    start, end = hours[0], hours[-1] + HOUR
    carried = reader.energy_history.get(start)
    before = timedelta(0) if carried is not None else timedelta(seconds=reader.q.lookback_seconds)
    after = timedelta(seconds=2 * reader.interval)
    devices: dict[tuple[str, str], Device] = {}
    merged: dict[tuple[str, str], set] = {}
    for family, labels, values in raw(reader, (ENERGY, POWER), start - before, end + after):
        if (device := device_of(devices, labels)) is None:
            continue
        if family == POWER:
            device.watts.update(values)
            continue
        if found := holder(labels):
            device.holders.add(found)
        merged.setdefault((device.node, labels["UUID"]), set()).update(values)
    for key, (last, watts) in (carried or {}).items():
        if key in merged:
            merged[key].add(last)
            if watts is not None:
                devices[key].watts.setdefault(last[0], watts)
    for key, samples in merged.items():
        ordered = sorted(samples)
        # Only the last sample before the chunk matters; the lookback's others go.
        first = max(0, sum(1 for t, _ in ordered if t <= start.timestamp()) - 1)
        devices[key].samples = ordered[first:]
    for family, labels, values in raw(reader, (GR_ACTIVE, UTIL), start, end):
        device = device_of(devices, labels)
        if device is not None and (found := holder(labels)):
            slot, _, namespace, pod = found
            scale = 1.0 if family == GR_ACTIVE else 0.01
            device.activity[(slot, namespace, pod, family)].extend(
                (t, v * scale) for t, v in values
            )
    for device in devices.values():
        for samples in device.activity.values():
            samples.sort()
    reader.energy_history = {end: carry(devices, end.timestamp())}
    for h in hours:
        data[h].gpu_devices = devices


def carry(devices: dict, end: float) -> dict:
    """Each device's last sample at or before the chunk's end and the power then, for the
    next chunk."""
    out = {}
    for key, device in devices.items():
        before = [s for s in device.samples if s[0] <= end]
        if before:
            out[key] = (before[-1], device.watts.get(before[-1][0]))
    return out
