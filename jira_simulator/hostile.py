"""Hostile Jira: answers a broken or malicious site could send, as fault modes of the simulator.

Each `Hostile.<mode>()` is a :class:`Fault` of kind ``hostile`` for a :class:`FaultPlan` rule: the
request may be rewritten before the simulator answers it (so the real workspace answers a page that
can then be repeated forever), and the answer after. Tests read as a table of these modes.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Iterator
from typing import Any

from .faults import Fault, SimRequest

# An answer header the HTTP layer consumes (never sent): send the body this many bytes a second.
DRIP_HEADER = "X-Sim-Drip-Bytes-Per-Second"

Query = dict[str, list[str]]


def hostile_answer(
    fault: Fault, req: SimRequest, status: int, payload: Any
) -> tuple[int, dict[str, str], Any]:
    """The answer `fault` makes of the simulator's own (payload may become raw bytes)."""
    headers: dict[str, str] = {}
    if fault.rewrite_answer is not None:
        status, headers, payload = fault.rewrite_answer(req, status, payload)
    if fault.drip_bytes_per_s:
        headers[DRIP_HEADER] = str(fault.drip_bytes_per_s)
    return status, headers, payload


def drip_chunks(data: bytes, bytes_per_s: float, stop: threading.Event) -> Iterator[bytes]:
    """`data` in chunks of a few bytes, paced to `bytes_per_s`, until sent or `stop` is set."""
    step = max(1, int(bytes_per_s // 10) or 1)
    pause = step / bytes_per_s
    for offset in range(0, len(data), step):
        if stop.wait(pause):
            return
        yield data[offset : offset + step]


def drip_stream(data: bytes, bytes_per_s: float) -> Any:
    """An httpx stream for MockTransport that drips `data` (httpx imported only when used)."""
    import httpx

    class _Drip(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from drip_chunks(data, bytes_per_s, threading.Event())

    return _Drip()


def _first_page(req: SimRequest, body: Any, query: Query) -> tuple[Any, Query]:
    """The request as if for the first page: body token removed, startAt 0."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "nextPageToken"}
    query = {**query, "startAt": ["0"]} if "startAt" in query else query
    return body, query


def _room_for(extra: int) -> Any:
    """A request rewrite asking for `extra` fewer results, so a page with `extra` added issues
    still holds no more than the client asked for (the client refuses bigger pages)."""

    def rewrite(req: SimRequest, body: Any, query: Query) -> tuple[Any, Query]:
        if isinstance(body, dict) and isinstance(body.get("maxResults"), int):
            body = {**body, "maxResults": max(1, body["maxResults"] - extra)}
        return body, query

    return rewrite


def _token_of(req: SimRequest) -> str | None:
    return req.body.get("nextPageToken") if isinstance(req.body, dict) else None


def _with(payload: Any, **values: Any) -> Any:
    return {**payload, **values} if isinstance(payload, dict) else payload


class Hostile:
    """The catalogue of hostile modes. Each returns a Fault for a FaultPlan rule."""

    @staticmethod
    def repeated_token(token: str = "stuck-token") -> Fault:  # noqa: S107 - a page cursor
        """Every page of a token endpoint (search, bulk changelog) says the same next token."""
        return Fault(
            "hostile",
            rewrite_request=_first_page,
            rewrite_answer=lambda req, status, p: (status, {}, _with(p, nextPageToken=token, isLast=False)),
        )

    @staticmethod
    def cycling_tokens(length: int = 3) -> Fault:
        """Tokens that go round: c0, c1, ..., c0 again (a cycle, not one repeated token)."""
        ring = [f"cycle-{n}" for n in range(length)]

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            sent = _token_of(req)
            nxt = ring[(ring.index(sent) + 1) % length] if sent in ring else ring[0]
            return status, {}, _with(payload, nextPageToken=nxt, isLast=False)

        return Fault("hostile", rewrite_request=_first_page, rewrite_answer=answer)

    @staticmethod
    def endless_pages() -> Fault:
        """A new token on every page, never the last: the same issues again and again."""
        counter = itertools.count(1)
        return Fault(
            "hostile",
            rewrite_request=_first_page,
            rewrite_answer=lambda req, status, p: (
                status,
                {},
                _with(p, nextPageToken=f"endless-{next(counter)}", isLast=False),
            ),
        )

    @staticmethod
    def never_last() -> Fault:
        """`startAt` endpoints: `isLast: false` forever and the first page again (boards, sprints);
        bare arrays (`/users/search`): the first page again, never an empty one."""
        return Fault(
            "hostile",
            rewrite_request=_first_page,
            rewrite_answer=lambda req, status, p: (status, {}, _with(p, isLast=False)),
        )

    @staticmethod
    def huge_error(size: int = 600_000, status: int = 400) -> Fault:
        """An error answer whose `errorMessages` is hundreds of kilobytes."""
        return Fault(
            "hostile",
            rewrite_answer=lambda req, s, p: (status, {}, {"errorMessages": ["x" * size], "errors": {}}),
        )

    @staticmethod
    def echo_credentials(status: int = 400) -> Fault:
        """An error that quotes the request's Authorization header, decoded too."""

        def answer(req: SimRequest, s: int, p: Any) -> tuple[int, dict[str, str], Any]:
            auth = req.headers.get("authorization", "")
            decoded = ""
            if auth.lower().startswith("basic "):
                decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            token = decoded.split(":")[-1]
            message = f"Invalid request header Authorization: {auth} (user {decoded}); token={token}"
            return status, {}, {"errorMessages": [message], "errors": {"auth": auth}}

        return Fault("hostile", rewrite_answer=answer)

    @staticmethod
    def absurd_count(value: str = "1000000000000") -> Fault:
        """The approximate count as a raw JSON number: 10^12, -5, 1e400, or not a number."""
        return Fault("hostile", rewrite_answer=lambda req, s, p: (200, {}, f'{{"count": {value}}}'.encode()))

    @staticmethod
    def odd_fields(fields: dict[str, Any]) -> Fault:
        """Every issue of a search page gets these field values (e.g. a 500 KB summary, a number
        where a list belongs, 1e400 story points)."""

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            if isinstance(payload, dict) and isinstance(payload.get("issues"), list):
                payload = _with(
                    payload,
                    issues=[
                        {**i, "fields": {**(i.get("fields") or {}), **fields}} for i in payload["issues"]
                    ],
                )
            return status, {}, payload

        return Fault("hostile", rewrite_answer=answer)

    @staticmethod
    def long_histories(changes: int = 6000, issues: int = 1, field_id: str = "status") -> Fault:
        """The first `issues` issues of each bulk changelog request also get `changes` changes."""

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            logs = payload.get("issueChangeLogs") if isinstance(payload, dict) else None
            if isinstance(logs, list):
                ids = [str(i) for i in (req.body or {}).get("issueIdsOrKeys", [])][:issues]
                history = [
                    {
                        "id": str(n),
                        "created": f"2026-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.0+0000",
                        "items": [{"fieldId": field_id, "fromString": f"S{n}", "toString": f"S{n + 1}"}],
                    }
                    for n in range(changes)
                ]
                extra = [{"issueId": i, "changeHistories": history} for i in ids]
                payload = _with(payload, issueChangeLogs=logs + extra)
            return status, {}, payload

        return Fault("hostile", rewrite_answer=answer)

    @staticmethod
    def extra_issues(keys: tuple[str, ...] = ("XYZ-9", "../../etc", "alpha-1", "ALPHA-0")) -> Fault:
        """Search pages that also hold other projects' issues and malformed keys (in place of
        real ones, which come on the next page)."""

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            if isinstance(payload, dict) and isinstance(payload.get("issues"), list) and payload["issues"]:
                model = payload["issues"][0]
                fake = [
                    {**model, "id": str(990000 + n), "key": key, "fields": {**model.get("fields", {})}}
                    for n, key in enumerate(keys)
                ]
                for issue in fake:
                    issue["fields"]["project"] = {"key": issue["key"].rsplit("-", 1)[0]}
                payload = _with(payload, issues=payload["issues"] + fake)
            return status, {}, payload

        return Fault("hostile", rewrite_request=_room_for(len(keys)), rewrite_answer=answer)

    @staticmethod
    def duplicate_keys(repeated: int = 5) -> Fault:
        """Every search page after the first repeats `repeated` issues of the first page."""
        first: list[Any] = []
        lock = threading.Lock()

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            if not (isinstance(payload, dict) and isinstance(payload.get("issues"), list)):
                return status, {}, payload
            with lock:
                if not first:
                    first.extend(payload["issues"][:repeated])
                    return status, {}, payload
            return status, {}, _with(payload, issues=payload["issues"] + first)

        return Fault("hostile", rewrite_request=_room_for(repeated), rewrite_answer=answer)

    @staticmethod
    def huge_page(copies: int = 600) -> Fault:
        """A search page with `copies` times the issues asked for."""

        def answer(req: SimRequest, status: int, payload: Any) -> tuple[int, dict[str, str], Any]:
            if isinstance(payload, dict) and isinstance(payload.get("issues"), list):
                payload = _with(payload, issues=payload["issues"] * copies)
            return status, {}, payload

        return Fault("hostile", rewrite_answer=answer)

    @staticmethod
    def odd_retry_after(value: str) -> Fault:
        """A 429 whose Retry-After is 0, negative, NaN, inf, huge or not a number."""
        return Fault.status(429, retry_after=value, reason="jira-burst-based")

    @staticmethod
    def slow_drip(bytes_per_s: float = 200.0) -> Fault:
        """The right answer, sent a few bytes at a time."""
        return Fault("hostile", drip_bytes_per_s=bytes_per_s)
