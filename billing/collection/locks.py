"""One collect_usage at a time per cluster, across processes and machines.

Two runs over the same cluster would both read the last collected hour, both collect the
same hours and replace each other's rows. Each run therefore takes a lock named for the
cluster before it reads anything: on PostgreSQL a session advisory lock, which the server
releases by itself when the holder's connection ends, even when the process was killed; on
SQLite (one machine by nature) an exclusive file lock beside the database, which the kernel
releases likewise. A second run waits up to KUBEMON_COLLECT_LOCK_WAIT seconds for it.
"""

import contextlib
import fcntl
import hashlib
import tempfile
import time
from pathlib import Path

from django.db import connection

# How often a waiting run tries the lock again.
POLL_SECONDS = 0.5


class Busy(Exception):
    """Another run holds the cluster's lock."""


def lock_key(cluster: str) -> int:
    """A signed 64-bit advisory lock key for the cluster, the same in every process."""
    digest = hashlib.blake2b(f"kubemon.collect_usage:{cluster}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@contextlib.contextmanager
def collection_lock(cluster: str, wait: float):
    """Hold the cluster's collection lock for the block, or raise Busy after `wait` seconds."""
    if connection.vendor == "postgresql":
        take, release = advisory_lock(lock_key(cluster))
    else:
        take, release = file_lock(cluster)
    deadline = time.monotonic() + wait
    while not take():
        if time.monotonic() >= deadline:
            release(held=False)
            raise Busy(cluster)
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        release(held=True)


def advisory_lock(key: int):
    def take() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            return cursor.fetchone()[0]

    def release(held: bool) -> None:
        if not held:
            return
        # Gone with the connection if that dropped: the server released it then.
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])

    return take, release


def file_lock(cluster: str):
    database = str(connection.settings_dict["NAME"])
    name = hashlib.sha256(f"{database}\0{cluster}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"kubemon-collect-{name}.lock"
    handle = path.open("a")

    def take() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(held: bool) -> None:
        if held:
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    return take, release
