"""The downloader against a local HTTP server on 127.0.0.1 (never the internet)."""
import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gnn_sparse.data import DownloadError, download_file

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload``; the first ``server.truncate`` responses stop halfway."""

    def do_GET(self):
        server = self.server
        server.requests.append(self.headers.get("Range"))
        if self.path != "/file.bin":
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and server.ranges:
            start = int(match.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
        else:
            self.send_response(200)
        body = server.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.truncate > 0:
            server.truncate -= 1
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.payload, httpd.truncate, httpd.ranges, httpd.requests = PAYLOAD, 0, True, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/file.bin"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_full_download(server, tmp_path, files_under):
    dest = download_file(server.url, tmp_path / "raw" / "f.bin", progress=False,
                         sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD
    assert files_under(tmp_path) == ["raw/f.bin"]


def test_truncated_transfer_resumes_with_range(server, tmp_path):
    server.truncate = 1
    dest = download_file(server.url, tmp_path / "f.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_server_without_ranges_restarts_from_zero(server, tmp_path):
    server.truncate, server.ranges = 1, False
    dest = download_file(server.url, tmp_path / "f.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert len(server.requests) == 2


def test_persistent_truncation_fails_and_leaves_nothing(server, tmp_path, files_under):
    server.truncate, server.ranges = 10, False
    dest = tmp_path / "raw" / "f.bin"
    with pytest.raises(DownloadError, match=rf"could not download {re.escape(server.url)} to .*f\.bin after 3 attempt\(s\)"):
        download_file(server.url, dest, progress=False, retries=2)
    assert files_under(tmp_path) == []


def test_checksum_mismatch_is_not_saved(server, tmp_path, files_under):
    with pytest.raises(DownloadError, match="its sha256 is .* expected 0000"):
        download_file(server.url, tmp_path / "f.bin", progress=False, sha256="0000")
    assert files_under(tmp_path) == []


def test_http_error(server, tmp_path, files_under):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(server.url.replace("file.bin", "missing"), tmp_path / "f.bin", progress=False)
    assert files_under(tmp_path) == []


def test_no_network(tmp_path, files_under, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens on this port any more
    with pytest.raises(DownloadError, match=r"could not download http://127\.0\.0\.1:\d+/x\.gz .*Connection refused"):
        download_file(f"http://127.0.0.1:{port}/x.gz", tmp_path / "x.gz", progress=False, retries=0, timeout=5)
    assert files_under(tmp_path) == []
