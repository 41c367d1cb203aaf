"""Export batches: numbered, recorded with each file's SHA-256, written atomically.

Exporting a period again in the same format renders its latest batch again, which gives
the same bytes (checked against the recorded SHA-256); `new_batch` makes a new numbered
batch instead. Nothing is written, file or row, before every check has passed.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from billing.models import ExportBatch, ExportFile, Period
from billing.sifac.documents import ExportRefused, documents, sifac_settings
from billing.sifac.render import FORMATS


@dataclass
class Exported:
    batch: ExportBatch
    path: Path
    sha256: str
    documents: int
    items: int
    new: bool


def file_name(period: Period, fmt: str, number: int) -> str:
    return f"kubemon-{period}-{fmt}-batch{number:06d}.{FORMATS[fmt][1]}"


def inside(directory: Path, name: str) -> Path:
    """Return directory/name, refusing any name that would leave the directory."""
    base = directory.resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise ExportRefused(f"file name {name!r} would leave the export directory {base}")
    return path


def write_atomically(path: Path, content: bytes):
    """Write through a temporary file in the same directory, then rename over the target.

    The file gets KUBEMON_EXPORT_FILE_MODE (mkstemp makes it 0600, readable by its owner only).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), settings.KUBEMON_EXPORT_FILE_MODE)
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export(
    period: Period,
    fmt: str,
    directory: Path,
    new_batch: bool,
    allow_unassigned: bool,
    now: datetime,
) -> Exported:
    """Export a closed period in one format into `directory`; see the module docstring."""
    if fmt not in FORMATS:
        raise ExportRefused(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    docs = documents(period, allow_unassigned)
    if not docs:
        raise ExportRefused(f"period {period} has nothing to export")
    sifac = sifac_settings()
    render = FORMATS[fmt][0]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportRefused(f"export directory {directory}: {e}") from None
    items = sum(len(d.items) for d in docs)
    with transaction.atomic():
        batch = None
        if not new_batch:
            batch = period.exports.filter(format=fmt).order_by("-number").first()
        if batch is not None:
            content = render(docs, batch.number, batch.created_at, sifac)
            recorded = batch.files.get()
            sha = hashlib.sha256(content).hexdigest()
            if sha != recorded.sha256:
                raise ExportRefused(
                    f"batch {batch.number} no longer renders to the bytes recorded "
                    f"(sha256 {recorded.sha256}): the SIFAC settings changed since; "
                    "export with --new-batch"
                )
            path = inside(directory, recorded.name)
            write_atomically(path, content)
            return Exported(batch, path, sha, len(docs), items, new=False)
        number = (ExportBatch.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        created = now.replace(microsecond=0)
        batch = ExportBatch.objects.create(
            number=number, period=period, format=fmt, created_at=created
        )
        content = render(docs, number, created, sifac)
        name = file_name(period, fmt, number)
        path = inside(directory, name)
        sha = hashlib.sha256(content).hexdigest()
        write_atomically(path, content)
        ExportFile.objects.create(batch=batch, name=name, sha256=sha, size=len(content))
    return Exported(batch, path, sha, len(docs), items, new=True)
