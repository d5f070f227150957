import os
import stat

from tools.twin.files import write_private


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_secret_file_is_created_readable_by_its_owner_only(tmp_path):
    old_umask = os.umask(0)  # the most permissive umask: the mode must come from the open call itself
    try:
        path = write_private(tmp_path / "users.txt", '"airflow" "s3cret"\n')
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
    assert path.read_text() == '"airflow" "s3cret"\n'


def test_an_existing_readable_file_is_made_private_before_it_is_written(tmp_path):
    path = tmp_path / "server.key"
    path.write_bytes(b"old content that is longer than the new one")
    path.chmod(0o644)
    write_private(path, b"KEY")
    assert _mode(path) == 0o600
    assert path.read_bytes() == b"KEY"
