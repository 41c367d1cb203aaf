"""Read a chunk's GPU energy and activity samples by device: three raw reads per chunk.

One raw read per family (billing.collection.energy says what is made of them):
- the energy counter of every device, from the last sample before the chunk to the first
  after it: the run's first chunk looks back KUBEMON_COUNTER_LOOKBACK for it, the next ones
  start from each device's last sample carried from the chunk before (reader.energy_history);
- GR_ENGINE_ACTIVE and GPU_UTIL inside the chunk's hours (only the held series are kept: the
  `pod` label may be the exporter's own or the holder's, depending on honor_labels, so it
  cannot be filtered on the server).
Every series of a device (node, UUID) is merged into one: its holders' label sets over time,
MIG instances and time-sliced copies (the whole GPU's value each), and the replicas of an HA
pair (the same counter, scraped twice) all count once.
"""

from datetime import datetime, timedelta

from billing.collection.energy import ENERGY, GR_ACTIVE, UTIL, Device
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


def raw(reader, selector: str, start: datetime, end: datetime) -> list[tuple[dict, list]]:
    """(objects' labels, [(t, v)]) of every series' samples in [start, end), one query."""
    seconds = (end - start).total_seconds()
    expr = f"{selector}[{round(seconds * 1000)}ms]"
    answer = reader.timed(reader.client.query, expr, end - MS)
    return [
        (object_labels(s["metric"]), [(float(t), float(v)) for t, v in s["values"]]) for s in answer
    ]


def read_gpu_energy(reader, data: dict, hours: list[datetime]) -> None:
    """Fill data[hour].gpu_devices of the chunk's hours: every device's merged samples."""
    start, end = hours[0], hours[-1] + HOUR
    carried = reader.energy_history.get(start)
    before = timedelta(0) if carried is not None else timedelta(seconds=reader.q.lookback_seconds)
    after = timedelta(seconds=2 * reader.interval)
    devices: dict[tuple[str, str], Device] = {}
    merged: dict[tuple[str, str], set] = {}
    for labels, values in raw(reader, reader.q.sel(ENERGY), start - before, end + after):
        if (device := device_of(devices, labels)) is None:
            continue
        if found := holder(labels):
            device.holders.add(found)
        merged.setdefault((device.node, labels["UUID"]), set()).update(values)
    for key, last in (carried or {}).items():
        if key in merged:
            merged[key].add(last)
    for key, samples in merged.items():
        ordered = sorted(samples)
        # Only the last sample before the chunk matters; the lookback's others go.
        first = max(0, sum(1 for t, _ in ordered if t <= start.timestamp()) - 1)
        devices[key].samples = ordered[first:]
    for family, scale in ((GR_ACTIVE, 1.0), (UTIL, 0.01)):
        for labels, values in raw(reader, reader.q.sel(family), start, end):
            device = device_of(devices, labels)
            if device is not None and (found := holder(labels)):
                slot, _, namespace, pod = found
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
    """Each device's last sample at or before the chunk's end, for the next chunk."""
    out = {}
    for key, device in devices.items():
        before = [s for s in device.samples if s[0] <= end]
        if before:
            out[key] = before[-1]
    return out
