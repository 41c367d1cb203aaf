"""The export directory, seen from the app: a thin client of the outside system SIFAC reads.

Export files are written there by billing/sifac/batches.py and picked up by SIFAC. The pages
read them back for download, only by the name recorded in the database, only inside the
directory, and only if their bytes still have the SHA-256 recorded when they were written.
"""

import hashlib
from pathlib import Path

from django.conf import settings

from billing.sifac.batches import inside
from billing.sifac.documents import ExportRefused


class ExportFileError(Exception):
    """An export file that cannot be handed out; the message says which and why."""


class ExportFileMissing(ExportFileError):
    """The file is not in the export directory (moved, deleted, or never written here)."""


class ExportFileTampered(ExportFileError):
    """The file's bytes are no longer those recorded: someone changed it after the export."""


class ExportFileOutside(ExportFileError):
    """The recorded name would leave the export directory (or leads out through a link)."""


class ExportFileUnreadable(ExportFileError):
    """The file is there but cannot be read (permissions, I/O error)."""


def export_directory() -> Path:
    return Path(settings.KUBEMON_EXPORT_DIR)


def read_export(name: str, sha256: str, directory: Path | None = None) -> bytes:
    """Return the bytes of export file `name`, checked against its recorded `sha256`."""
    directory = export_directory() if directory is None else Path(directory)
    try:
        path = inside(directory, name)
    except (ExportRefused, OSError, ValueError) as e:
        raise ExportFileOutside(str(e)) from None
    except RuntimeError as e:  # Python 3.11's pathlib: a symbolic link loop
        raise ExportFileUnreadable(f"{name} in {directory}: {e}") from None
    try:
        content = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ExportFileMissing(f"{name} is not in the export directory {directory}") from None
    except OSError as e:
        raise ExportFileUnreadable(
            f"{name} in {directory} cannot be read: {e.strerror or e}"
        ) from None
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ExportFileTampered(
            f"{name} has changed since it was exported: its SHA-256 is {actual}, "
            f"the export recorded {sha256}"
        )
    return content
