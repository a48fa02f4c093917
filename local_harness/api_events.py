"""API Gateway HTTP API (payload format 2.0) events, as `sam local start-api` would build them."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from local_harness.template import FunctionSpec


def _route_regex(route_path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{([^}/+]+)\+?\}", r"(?P<\1>[^/]+)", route_path)
    return re.compile(f"^{pattern}$")


def match_route(
    functions: Iterable[FunctionSpec], method: str, path: str
) -> tuple[FunctionSpec | None, str, dict[str, str]]:
    for spec in functions:
        for route_method, route_path in spec.http_routes:
            if route_method not in (method.upper(), "ANY"):
                continue
            found = _route_regex(route_path).match(path)
            if found:
                return spec, route_path, found.groupdict()
    return None, "", {}


def http_api_event(
    method: str,
    path: str,
    route_path: str,
    path_params: dict[str, str],
    *,
    body: str | None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    all_headers = {
        "content-type": "application/json",
        "host": "localhost",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method.upper()} {route_path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "local",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method.upper()} {route_path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "authorizer": {"jwt": {"claims": claims or {}, "scopes": None}},
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body is not None:
        event["body"] = body
    return event
