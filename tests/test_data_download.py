"""Downloads, tested for real against an HTTP server on 127.0.0.1 that each test starts.

Routes: /good/<name> serves the file, /bad/<name> serves it with one byte changed,
/drop/<name> announces the full Content-Length, sends half and closes the connection.
A "dead" mirror is a local port with nothing listening.
"""

import gzip
import hashlib
import http.server
import os
import socket
import stat
import threading
from dataclasses import replace

import numpy as np
import pytest

import companion.data.download as download_module
from companion.data import (
    FILE_NAMES, MNIST, ChecksumError, DataNotFoundError, DownloadError, download_file,
    load_dataset, load_mnist,
)

TIMEOUT = 5.0


class FileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = {}        # name -> bytes
        self.requests = []     # paths asked for, in order

    def url(self, route):
        return f"http://127.0.0.1:{self.server_address[1]}/{route}/"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        _, route, name = self.path.split("/", 2)
        data = self.server.files.get(name)
        if data is None or route not in ("good", "bad", "drop"):
            self.send_error(404)
            return
        if route == "bad":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if route == "drop" else data)
        self.close_connection = True

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server():
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture
def dead_url():
    """A URL on a local port where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def md5(data):
    return hashlib.md5(data).hexdigest()


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------------ download_file

def test_good_file_is_fetched_verified_and_kept(server, tmp_path, capsys):
    data = bytes(range(256)) * 1000
    server.files["f.gz"] = data
    dest = download_file([server.url("good") + "f.gz"], tmp_path / "dl" / "f.gz", md5(data),
                         timeout=TIMEOUT, progress=True)
    assert dest.read_bytes() == data
    assert files_in(tmp_path / "dl") == ["f.gz"]      # no temporary file left
    bar = capsys.readouterr().err
    assert "f.gz" in bar and "100%" in bar             # the progress bar ran to the end


def test_wrong_checksum_is_rejected_and_removed(server, tmp_path):
    server.files["f.gz"] = b"x" * 5000
    with pytest.raises(ChecksumError, match="md5 mismatch") as info:
        download_file([server.url("bad") + "f.gz"], tmp_path / "f.gz", md5(b"x" * 5000),
                      timeout=TIMEOUT, progress=False)
    assert "the file was deleted" in str(info.value)
    assert files_in(tmp_path) == []


def test_connection_dropped_mid_file_leaves_nothing(server, tmp_path):
    data = b"y" * 100_000
    server.files["f.gz"] = data
    with pytest.raises(DownloadError, match="connection closed after 50,000 of 100,000 bytes"):
        download_file([server.url("drop") + "f.gz"], tmp_path / "f.gz", md5(data),
                      timeout=TIMEOUT, progress=False)
    assert files_in(tmp_path) == []


def test_dead_first_mirror_falls_over_to_the_second(server, tmp_path, dead_url):
    server.files["f.gz"] = b"z" * 1000
    dest = download_file([dead_url + "f.gz", server.url("good") + "f.gz"], tmp_path / "f.gz",
                         md5(b"z" * 1000), timeout=TIMEOUT, progress=False)
    assert dest.read_bytes() == b"z" * 1000
    assert server.requests == ["/good/f.gz"]


def test_bad_and_cut_mirrors_fall_over_to_a_good_one(server, tmp_path):
    server.files["f.gz"] = b"w" * 1000
    urls = [server.url(route) + "f.gz" for route in ("bad", "drop", "good")]
    download_file(urls, tmp_path / "f.gz", md5(b"w" * 1000), timeout=TIMEOUT, progress=False)
    assert server.requests == ["/bad/f.gz", "/drop/f.gz", "/good/f.gz"]
    assert files_in(tmp_path) == ["f.gz"]


def test_every_mirror_failing_names_each(server, tmp_path, dead_url):
    urls = [dead_url + "f.gz", server.url("good") + "missing.gz"]
    with pytest.raises(DownloadError) as info:
        download_file(urls, tmp_path / "f.gz", "0" * 32, timeout=TIMEOUT, progress=False)
    assert urls[0] in str(info.value) and urls[1] in str(info.value)
    assert "404" in str(info.value)
    assert files_in(tmp_path) == []


def test_interrupted_download_leaves_nothing(server, tmp_path, monkeypatch):
    server.files["f.gz"] = b"v" * 1000

    def interrupt(path):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C once the bytes were in

    monkeypatch.setattr(download_module, "md5sum", interrupt)
    with pytest.raises(KeyboardInterrupt):
        download_file([server.url("good") + "f.gz"], tmp_path / "f.gz", md5(b"v" * 1000),
                      timeout=TIMEOUT, progress=False)
    assert files_in(tmp_path) == []


# ------------------------------------------------------------------------------ whole loader

@pytest.fixture
def served_dataset(server):
    """Four small gzipped IDX files on the server, and a spec whose md5s match them."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 30, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 12, dtype=np.uint8),
    }
    md5s = {}
    for role, array in arrays.items():
        header = np.array([0, 0, 8, array.ndim], dtype=np.uint8).tobytes() + \
            np.array(array.shape, dtype=">u4").tobytes()
        data = gzip.compress(header + array.tobytes())
        server.files[FILE_NAMES[role]] = data
        md5s[role] = md5(data)
    return replace(MNIST, md5=md5s), arrays


def test_loader_downloads_into_the_cache_then_uses_it(isolated, server, served_dataset,
                                                      dead_url):
    spec, arrays = served_dataset
    cache = isolated / "cache" / "mnist"
    first = load_dataset(spec, mirrors=[dead_url, server.url("good")], as_uint8=True,
                         timeout=TIMEOUT, progress=False)
    assert first.source == "download"
    assert files_in(cache) == sorted(FILE_NAMES.values())
    np.testing.assert_array_equal(first.x_train[:, 0], arrays["train_images"])
    np.testing.assert_array_equal(first.y_test, arrays["test_labels"])
    n_requests = len(server.requests)
    second = load_dataset(spec, mirrors=[dead_url], as_uint8=True, progress=False)
    assert second.source == "per-user cache" and len(server.requests) == n_requests
    np.testing.assert_array_equal(second.x_test, first.x_test)


def test_damaged_cached_file_is_replaced(isolated, server, served_dataset):
    spec, arrays = served_dataset
    load_dataset(spec, mirrors=[server.url("good")], timeout=TIMEOUT, progress=False)
    cached = isolated / "cache" / "mnist" / "train-labels-idx1-ubyte.gz"
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="wrong md5"):
        again = load_dataset(spec, mirrors=[server.url("good")], timeout=TIMEOUT,
                             progress=False)
    assert again.source == "download"
    assert server.requests[-1] == "/good/train-labels-idx1-ubyte.gz"
    np.testing.assert_array_equal(again.y_train, arrays["train_labels"])


def test_loader_checksum_failure_leaves_cache_empty(isolated, server, served_dataset):
    spec, _ = served_dataset
    with pytest.raises(ChecksumError, match="damaged or different file"):
        load_dataset(spec, mirrors=[server.url("bad")], timeout=TIMEOUT, progress=False)
    assert files_in(isolated / "cache" / "mnist") == []


def test_loader_cut_transfer_leaves_cache_empty(isolated, server, served_dataset):
    spec, _ = served_dataset
    with pytest.raises(DataNotFoundError, match="connection closed after"):
        load_dataset(spec, mirrors=[server.url("drop")], timeout=TIMEOUT, progress=False)
    assert files_in(isolated / "cache" / "mnist") == []


def test_no_data_anywhere_and_no_network(isolated, dead_url):
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(mirrors=[dead_url], timeout=TIMEOUT, progress=False)
    message = str(info.value)
    for expected in ("MNIST not found", "Downloading failed", dead_url, "Looked in",
                     str(isolated / "cache" / "mnist"), "$COMPANION_DATA_DIR: not set",
                     "set COMPANION_DATA_DIR to a folder holding mnist/",
                     "pass that folder as root=",
                     "connect to the internet and try again",
                     "t10k-labels-idx1-ubyte.gz"):
        assert expected in message, f"{expected!r} missing from:\n{message}"
    assert files_in(isolated / "cache" / "mnist") == []
    assert isinstance(info.value.__cause__, DownloadError)
    assert "download=True" not in message  # it was on; the remedy is a network, not an option
    assert "--data-dir" in info.value.render(root="--data-dir") and \
        "root=" not in info.value.render(root="--data-dir")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_downloaded_file_gets_the_mode_the_umask_gives(server, tmp_path, umask):
    server.files["f.gz"] = b"u" * 100
    old = os.umask(umask)
    try:
        dest = download_file([server.url("good") + "f.gz"], tmp_path / "f.gz", md5(b"u" * 100),
                             timeout=TIMEOUT, progress=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0o600
