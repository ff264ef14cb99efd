"""`mamoru serve` runs the production server (gunicorn) with its static files, on loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

MAMORU = str(Path(sys.executable).with_name("mamoru"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback test server
        return response.status, dict(response.headers), response.read()


def test_serve_answers_with_japanese_sign_in_page_and_static_files(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MAMORU_")}, "MAMORU_DATA_DIR": str(tmp_path)}
    subprocess.run([MAMORU, "init"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([MAMORU, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = fetch(base + "/accounts/login/")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert status == 200 and "サインイン" in body.decode()
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        css_status, css_headers, css = fetch(base + "/static/mamoru/mamoru.css")
        assert css_status == 200 and css_headers["Content-Type"].startswith("text/css") and b"--accent" in css
        js_status, _h, _b = fetch(base + "/static/mamoru/vendor/htmx.min.js")
        assert js_status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
