"""A real S3-compatible server on loopback for tests and benches: moto's standalone server
behind a small HTTP proxy that counts requests and bytes and injects faults.

The proxy is what ferroboard talks to (``AWS_ENDPOINT_URL``): it forwards each request to
moto and can, on demand, answer the next N requests with a 500, answer requests signed with a
given access key id with a 403 (moto accepts any credential), or stop listening altogether
(the server is down: connections are refused) and come back on the same port.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        proxy = self.server.proxy
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with proxy.lock:
            if proxy.down:
                self.close_connection = True
                return
            proxy.requests.append((self.command, self.path))
            if self.command == "PUT":
                proxy.put_bytes += len(body)
                proxy.puts += 1
            fail = proxy.fail_next > 0
            if fail:
                proxy.fail_next -= 1
                proxy.failed += 1
        auth = self.headers.get("Authorization", "")
        if proxy.deny_key and f"Credential={proxy.deny_key}/" in auth:
            self._reply(
                403,
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
                b"<Message>The AWS Access Key Id you provided does not exist in our records."
                b"</Message></Error>",
            )
            return
        if fail:
            self._reply(
                500,
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                b"<Message>injected by the test proxy</Message></Error>",
            )
            return
        conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        with proxy.lock:
            if self.command == "GET":
                proxy.get_bytes += len(data)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header(
            "Content-Length",
            str(len(data)) if self.command != "HEAD" else resp.getheader("Content-Length") or "0",
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: S3Proxy


class S3Proxy:
    """See the module docstring. ``url`` is the endpoint to give ferroboard and boto3."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.fail_next = 0
        self.failed = 0
        self.deny_key: Optional[str] = None
        self.down = False
        self.reset_counts()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.start()

    def reset_counts(self) -> None:
        with self.lock:
            self.requests: list[tuple[str, str]] = []
            self.put_bytes = 0
            self.get_bytes = 0
            self.puts = 0

    def start(self) -> None:
        """Listens (again) on the same port."""
        self.down = False
        srv = _Server(("127.0.0.1", self.port), _Handler)
        srv.proxy = self
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops listening; open connections are dropped at their next request."""
        self.down = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def s3_server() -> Iterator[S3Proxy]:
    """moto's server on a free loopback port, behind an :class:`S3Proxy`."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    proxy = S3Proxy(port)
    try:
        yield proxy
    finally:
        proxy.stop()
        moto.stop()


def s3_env(endpoint: str, key_id: str = "testing") -> dict[str, str]:
    """The environment ferroboard (object_store) and boto3 read, for a loopback server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def boto_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def list_keys(client: Any, bucket: str, prefix: str = "") -> list[tuple[str, int]]:
    """``(key, size)`` of every object under ``prefix``, in key order."""
    out: list[tuple[str, int]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend((o["Key"], o["Size"]) for o in page.get("Contents", []))
    return sorted(out)
