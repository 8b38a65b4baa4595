"""atomic_write: all or nothing, and the permissions an ordinary open() would give."""

import os
import stat

import pytest

from companion.data.atomic import atomic_write


def test_the_file_appears_only_when_the_block_ends(tmp_path):
    dest = tmp_path / "f.bin"
    with atomic_write(dest) as f:
        f.write(b"new")
        assert not dest.exists() and os.path.dirname(f.name) == str(tmp_path)
    assert dest.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_an_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"old")
    with pytest.raises(error), atomic_write(dest) as f:
        f.write(b"half")
        raise error
    assert dest.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "f.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o666 & ~umask
