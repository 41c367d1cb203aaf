"""Export history and downloads: the numbered SIFAC batches and their files, for finance.

A download serves the file from the export directory (settings.KUBEMON_EXPORT_DIR) by the
name recorded in the database, never one from the URL, and only if its bytes still have the
SHA-256 recorded at export time; a missing or changed file gets a page that says so. The
pages never show where the directory is on the server (the log does).
"""

import io
import logging

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from billing.models import ExportFile
from billing.sifac import directory
from web import access

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def history(request):
    """The page of export batches asked for, newest first, with their files."""
    files = Prefetch("files", queryset=ExportFile.objects.order_by("name"))
    batches = access.visible_exports(request.user).prefetch_related(files).order_by("-number")
    return Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))


def page(request, error: str = "", status: int = 200):
    context = {"page": history(request), "error": error}
    return render(request, "web/export_list.html", context, status=status)


@login_required
def export_list(request):
    """Every export batch: number, period, format, time, and its files to download."""
    access.require_finance(request.user)
    return page(request)


@login_required
def download(request, pk: int):
    """One export file as an attachment, if it is still exactly what was exported."""
    access.require_finance(request.user)
    record = ExportFile.objects.select_related("batch").filter(pk=pk).first()
    if record is None:
        raise Http404(_("No such export file."))
    try:
        content = directory.read_export(record.name, record.sha256)
    except directory.ExportFileMissing as e:
        log.warning("export file download refused: %s", e)
        message = _(
            "The file %(name)s is no longer in the export directory: it was moved or deleted "
            "after the export. Export the period again to write it anew."
        )
        return page(request, message % {"name": record.name}, status=404)
    except directory.ExportFileTampered as e:
        log.error("export file download refused: %s", e)
        message = _(
            "The file %(name)s has changed since it was exported: its SHA-256 is no longer "
            "%(sha256)s. It is not served; check the export directory."
        )
        return page(request, message % {"name": record.name, "sha256": record.sha256}, 409)
    except directory.ExportFileOutside as e:
        log.error("export file download refused: %s", e)
        message = _(
            "The file %(name)s leads out of the export directory (by its name or a link); "
            "it is not served. Check the export directory."
        )
        return page(request, message % {"name": record.name}, status=409)
    except directory.ExportFileError as e:
        # The reason names the server's directories: for the log, not for the page.
        log.error("export file download refused: %s", e)
        message = _(
            "The file %(name)s cannot be read from the export directory; it is not served. "
            "The server's log says why."
        )
        return page(request, message % {"name": record.name}, status=409)
    response = FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=record.name,
        content_type=content_type(record),
    )
    response["X-Content-SHA256"] = record.sha256
    return response


def content_type(record: ExportFile) -> str:
    if record.name.endswith(".csv"):
        return "text/csv; charset=utf-8"
    if record.name.endswith(".xml"):
        return "application/xml"
    return "application/octet-stream"
