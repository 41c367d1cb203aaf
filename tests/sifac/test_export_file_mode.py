"""Export files get KUBEMON_EXPORT_FILE_MODE (0640 by default): SAP's transfer job, running
under another uid in the files' group, must be able to read them."""

import os
import stat
from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured

from billing.models import ExportFile, Period
from billing.sifac.batches import export
from kubemon.settings import envmode
from tests.fixtures import site_data


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_export_file_is_readable_by_its_group_by_default(db, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    site_data.build_site(tmp_path)
    (record,) = ExportFile.objects.all()
    assert mode(tmp_path / record.name) == 0o640


@pytest.fixture
def strict_umask():
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_the_mode_is_the_setting_s_even_under_a_strict_umask(db, settings, tmp_path, strict_umask):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    site_data.build_site(tmp_path)
    settings.KUBEMON_EXPORT_FILE_MODE = 0o644
    october = Period.objects.get(month=date(2026, 10, 1))
    exported = export(october, "idoc", tmp_path, True, False, site_data.NOW)
    assert mode(exported.path) == 0o644
    # Exporting the same batch again writes the file anew, with the mode of now.
    settings.KUBEMON_EXPORT_FILE_MODE = 0o600
    again = export(october, "idoc", tmp_path, False, False, site_data.NOW)
    assert again.path == exported.path and mode(again.path) == 0o600


@pytest.mark.parametrize(("value", "expected"), [("0640", 0o640), ("600", 0o600), ("0", 0)])
def test_the_setting_is_read_in_octal(monkeypatch, value, expected):
    monkeypatch.setenv("KUBEMON_EXPORT_FILE_MODE", value)
    assert envmode("KUBEMON_EXPORT_FILE_MODE", "0640") == expected


@pytest.mark.parametrize("value", ["rw-r-----", "0948", "1777", "-1", ""])
def test_a_value_that_is_no_file_mode_stops_the_app(monkeypatch, value):
    monkeypatch.setenv("KUBEMON_EXPORT_FILE_MODE", value)
    with pytest.raises(ImproperlyConfigured, match="KUBEMON_EXPORT_FILE_MODE"):
        envmode("KUBEMON_EXPORT_FILE_MODE", "0640")
