"""moto's DynamoDB in a process of its own, behind a local HTTP endpoint.

In the default local stack every emulated service shares the interpreter that runs the handlers,
and moto's DynamoDB is most of its CPU: a benchmark then measures the emulator more than the
pipeline. With `LocalStack(dynamodb_process=True)` the functions' DynamoDB calls go over HTTP
(`AWS_ENDPOINT_URL_DYNAMODB`) to this process, as they go over the network to DynamoDB in AWS,
and the two use two cores. The other services stay in-process (moto passes requests to a local
URL through).

The server is moto itself: each request is handed to the same dispatcher that serves botocore
in-process (`moto.core.models.botocore_stubber`), with the same atomic-write patch as the local
stack. `--setup module:function` runs a function in the server before it serves (a benchmark
installs its write counter there); `GET /_harness/<name>` answers with what the function
registered under that name returned, as JSON.

    python -m local_harness.dynamodb_process [--setup module:function]   # prints the port
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Name -> function answering GET /_harness/<name> (registered by a --setup function).
CONTROLS: dict[str, Callable[[], Any]] = {}
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/dynamodb/")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    # Headers and body go out as two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK of the headers, ~40 ms on every call (see the same line in jira_simulator).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders
        from moto.core.models import botocore_stubber

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = HTTPHeaders()
        for key, value in self.headers.items():
            headers[key] = value
        scope = _SCOPE.search(headers.get("Authorization", ""))
        region = scope.group(1) if scope else "us-east-1"
        url = f"https://dynamodb.{region}.amazonaws.com/"
        try:
            answer = botocore_stubber.process_request(AWSPreparedRequest("POST", url, headers, body, False))
        except Exception as exc:  # the client sees a 500 naming it, as moto in-process would raise it
            answer = (500, {}, json.dumps({"__type": "InternalFailure", "message": repr(exc)}))
        status, response_headers, response_body = answer or (404, {}, "not a DynamoDB request")
        self._send(status, response_headers, response_body)

    def do_GET(self) -> None:
        name = self.path.removeprefix("/_harness/")
        control = CONTROLS.get(name)
        if control is None:
            self._send(404, {}, f"no control {name!r}")
        else:
            self._send(200, {"Content-Type": "application/json"}, json.dumps(control()))

    def _send(self, status: int, headers: dict[str, Any], body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in {"content-length", "connection", "server", "date"}:
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(setup: str | None) -> None:
    from moto import mock_aws

    from local_harness.stack import patch_moto_dynamodb

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    mock = mock_aws()
    mock.start()
    patch_moto_dynamodb()
    CONTROLS["cpu"] = time.process_time  # CPU seconds of this process, for the benchmarks
    if setup:
        module, _, function = setup.partition(":")
        getattr(importlib.import_module(module), function)(CONTROLS)
    # The parent holds our stdin: when it exits, however it exits, so does this process.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


class DynamoDBProcess:
    """The server as a child process: `url` once started; stopped with the local stack."""

    def __init__(self, setup: str | None = None) -> None:
        self.setup = setup
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        command = [sys.executable, "-m", "local_harness.dynamodb_process"]
        if self.setup:
            command += ["--setup", self.setup]
        root = Path(__file__).resolve().parent.parent
        pipe = subprocess.PIPE  # stdin: the child exits when it closes (see `serve`)
        self._process = subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True, cwd=root)  # noqa: S603
        assert self._process.stdout is not None
        port = self._process.stdout.readline().strip()
        if not port.isdigit():
            self.stop()
            raise RuntimeError("the DynamoDB process did not start (see its output above)")
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def control(self, name: str) -> Any:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/_harness/{name}", timeout=30) as answer:  # noqa: S310 - our local URL
            return json.loads(answer.read())

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", help="module:function run in the server before it serves")
    serve(parser.parse_args().setup)


if __name__ == "__main__":
    main()
