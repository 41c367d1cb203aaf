"""Export file names that try to leave the export directory are never read.

The download reads a file by its recorded name only inside KUBEMON_EXPORT_DIR
(billing/sifac/directory.py); here the names an attacker with write access to the database
(or a careless script) could record, including a link that points out.
"""

import hashlib

import pytest

from billing.sifac import directory

SECRET = b"outside the export directory"
DIGEST = hashlib.sha256(SECRET).hexdigest()


@pytest.fixture
def exports(tmp_path):
    (tmp_path / "secret.txt").write_bytes(SECRET)
    inside = tmp_path / "exports"
    inside.mkdir()
    (inside / "sub").mkdir()
    (inside / "link.csv").symlink_to(tmp_path / "secret.txt")
    return inside


@pytest.mark.parametrize(
    "name",
    ["../secret.txt", "sub/../../secret.txt", "/etc/passwd", "link.csv", "..", "a\x00b", ""],
)
def test_a_name_leaving_the_export_directory_is_refused(exports, name):
    with pytest.raises(directory.ExportFileOutside):
        directory.read_export(name, DIGEST, exports)
