"""nginx in front of several `serve` processes, as a child process of the test.

The config is written into the test's own directory: nginx runs in the foreground
(`daemon off`), one worker, with its own pid file, error log and temp paths, listening
on a free port of 127.0.0.1. Requests go round-robin to the nodes; a POST already sent
to a node that died is answered 502 (nginx does not send a non-idempotent request
twice), while a node that refuses the connection is skipped for the next one. Every
answer names the node that gave it in `X-Upstream`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.cli_runner import stop_all

UPSTREAM_HEADER = "X-Upstream"
# Debian puts nginx in /usr/sbin, which is not on every user's PATH.
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=_SEARCH)


def nginx_config(*, directory: Path, port: int, upstreams: list[str]) -> str:
    """The whole nginx.conf: one server proxying to `upstreams` ("127.0.0.1:PORT")."""
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    # A node that failed once is left out for 30 s: longer than the test needs it gone.
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=30s;" for u in upstreams)
    return f"""
daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
# Only read when started as root: the worker must reach the temp paths in this directory.
user root;
events {{
    worker_connections 512;
}}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    upstream intake {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://intake;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


@asynccontextmanager
async def nginx(*, directory: Path, port: int, upstreams: list[str]) -> AsyncIterator[str]:
    """nginx on 127.0.0.1:`port` proxying to `upstreams` until the block ends; yields its
    base URL. The upstreams should be listening already: one that refuses the first
    request is left out for a while."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(nginx_config(directory=directory, port=port, upstreams=upstreams))
    error_log = directory / "error.log"
    process = subprocess.Popen(  # noqa: S603 - the system's nginx with our own config
        [binary, "-p", str(directory), "-e", str(error_log), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_listening(base_url, process=process, error_log=error_log)
        yield base_url
    finally:
        # SIGQUIT: finish what is in flight, then stop.
        stop_all([process], how=signal.SIGQUIT, within=10)


async def _wait_listening(
    base_url: str, *, process: subprocess.Popen[bytes], error_log: Path, within: float = 10.0
) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if process.poll() is not None:
                log = error_log.read_text() if error_log.exists() else ""
                raise AssertionError(f"nginx exited:\n{log[-3000:]}")
            try:
                await client.get(base_url + "/healthz")
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("nginx did not start listening")
            await asyncio.sleep(0.1)
