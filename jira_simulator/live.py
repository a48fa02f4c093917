"""The simulator's webhook endpoints (as `platform.v3.json` describes them) and its control API.

`/rest/api/3/webhook` (register, list, delete) and `/rest/api/3/webhook/refresh` answer OAuth 2.0
callers only, as in Jira (Connect and OAuth apps); an API-token caller gets 403. The control API,
under `/_sim/control/`, changes the workspace as a person in Jira would and sends the deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .control import Change, Control
from .webhooks import DYNAMIC_EVENTS, WebhookDispatcher
from .workspace import SITE

if TYPE_CHECKING:
    from .server import JiraSimulator, _Ctx

_REGISTRATION_KEYS = {"url", "webhooks"}
_WEBHOOK_KEYS = {"events", "jqlFilter", "fieldIdsFilter", "issuePropertyKeysFilter"}


def live_parts(sim: JiraSimulator) -> tuple[WebhookDispatcher, Control]:
    """The simulator's dispatcher and control, made on first use."""
    if not hasattr(sim, "webhooks"):
        app = getattr(sim, "app", None)  # deliveries are signed with the app's client secret
        secret = {"oauth_client_secret": app.client_secret} if app is not None else {}
        sim.webhooks = WebhookDispatcher(  # type: ignore[attr-defined]
            seed=sim.ws.seed, site_url=getattr(sim, "served_url", SITE), **secret
        )
        sim.control = Control(sim.ws)  # type: ignore[attr-defined]
    return sim.webhooks, sim.control  # type: ignore[attr-defined]


def _error(status: int, message: str) -> Exception:
    from .server import ApiError

    return ApiError(status, message)


def _require_app(ctx: _Ctx) -> None:
    auth = (ctx.headers or {}).get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise _error(403, "Only Connect and OAuth 2.0 apps can use this operation.")


def _ids(ctx: _Ctx) -> list[int]:
    body = ctx.body if isinstance(ctx.body, dict) else None
    ids = body.get("webhookIds") if body else None
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, int) for i in ids)
        or set(body or {}) - {"webhookIds"}
    ):
        raise _error(400, "webhookIds must be a list of webhook ids.")
    return ids


def live_routes(sim: JiraSimulator) -> list[tuple[str, str, Callable[[_Ctx], Any]]]:
    hooks, control = live_parts(sim)

    def register(ctx: _Ctx) -> Any:
        _require_app(ctx)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if (
            set(body) - _REGISTRATION_KEYS
            or not isinstance(body.get("url"), str)
            or not isinstance(body.get("webhooks"), list)
        ):
            raise _error(400, "The request needs a url and a list of webhooks.")
        results: list[dict[str, Any]] = []
        for item in body["webhooks"]:
            errors = _webhook_errors(item)
            if errors:
                results.append({"errors": errors})
                continue
            site = sim.app.site(ctx.tenant) if getattr(sim, "app", None) is not None else None
            registration = hooks.register(
                body["url"],
                item["events"],
                item["jqlFilter"],
                kind="dynamic",
                field_ids_filter=item.get("fieldIdsFilter"),
                site_url=site.url if site is not None else None,
            )
            results.append({"createdWebhookId": registration.id})
        return {"webhookRegistrationResult": results}

    def list_webhooks(ctx: _Ctx) -> Any:
        _require_app(ctx)
        start, size = ctx.q_int("startAt", 0), ctx.q_int("maxResults", 100)
        values = [r.as_webhook() for r in hooks.dynamic()]
        page = values[start : start + size]
        return {
            "startAt": start,
            "maxResults": size,
            "total": len(values),
            "isLast": start + size >= len(values),
            "values": page,
        }

    def delete(ctx: _Ctx) -> Any:
        _require_app(ctx)
        hooks.delete(_ids(ctx))
        return 202, None

    def refresh(ctx: _Ctx) -> Any:
        _require_app(ctx)
        return {"expirationDate": hooks.refresh(_ids(ctx))}

    def revoke(ctx: _Ctx) -> Any:
        """Atlassian's side: the person removed the app (or left). Every live grant of the app, or
        with {"latest": true} the newest only (one team's, in a server other tests share)."""
        live = [g for g in sim.app.grants if not g.revoked]
        chosen = live[-1:] if isinstance(ctx.body, dict) and ctx.body.get("latest") else live
        return {"revoked": [sim.app.revoke(g.id).id for g in chosen]}

    return [
        ("POST", "/rest/api/3/webhook", register),
        ("GET", "/rest/api/3/webhook", list_webhooks),
        ("DELETE", "/rest/api/3/webhook", delete),
        ("PUT", "/rest/api/3/webhook/refresh", refresh),
        *control_routes(hooks, control),
        ("POST", "/_sim/control/oauth/revoke", revoke),
    ]


def _webhook_errors(item: Any) -> list[str]:
    if not isinstance(item, dict) or set(item) - _WEBHOOK_KEYS:
        return ["The webhook is not a WebhookDetails object."]
    events, jql = item.get("events"), item.get("jqlFilter")
    if not isinstance(events, list) or not events or any(e not in DYNAMIC_EVENTS for e in events):
        return [f"Events must be some of {', '.join(sorted(DYNAMIC_EVENTS))}."]
    if not isinstance(jql, str) or not jql.strip():
        return ["The JQL filter is required."]
    from .server import ApiError, parse_jql

    try:
        parse_jql(jql)
    except ApiError as exc:
        return [f"Invalid JQL: {exc.messages[0]}"]
    return []


def control_routes(
    hooks: WebhookDispatcher, control: Control
) -> list[tuple[str, str, Callable[[_Ctx], Any]]]:
    """`/_sim/control/...`: change the workspace; every change publishes its deliveries."""

    def changed(changes: list[Change]) -> Any:
        queued = hooks.publish(changes)
        return {"events": [c.event for c in changes], "deliveries": queued}

    def body(ctx: _Ctx) -> dict[str, Any]:
        return ctx.body if isinstance(ctx.body, dict) else {}

    def guarded(action: Callable[[], list[Change]]) -> Any:
        try:
            return changed(action())
        except KeyError as exc:
            raise _error(404, f"No such issue or project: {exc.args[0]}") from None
        except ValueError as exc:
            raise _error(400, str(exc)) from None

    routes: list[tuple[str, str, Callable[[_Ctx], Any]]] = [
        (
            "POST",
            "/_sim/control/issues",
            lambda ctx: guarded(
                lambda: control.create_issue(
                    body(ctx)["project"],
                    body(ctx).get("summary", "New issue"),
                    points=body(ctx).get("points"),
                    sprint_id=body(ctx).get("sprint_id"),
                )
            ),
        ),
        (
            "PUT",
            "/_sim/control/issues/{issueIdOrKey}",
            lambda ctx: guarded(
                lambda: control.edit_issue(
                    ctx.params["issueIdOrKey"],
                    summary=body(ctx).get("summary"),
                    status=body(ctx).get("status"),
                    points=body(ctx).get("points"),
                )
            ),
        ),
        (
            "DELETE",
            "/_sim/control/issues/{issueIdOrKey}",
            lambda ctx: guarded(lambda: control.delete_issue(ctx.params["issueIdOrKey"])),
        ),
        (
            "POST",
            "/_sim/control/issues/{issueIdOrKey}/sprint",
            lambda ctx: guarded(
                lambda: control.move_to_sprint(ctx.params["issueIdOrKey"], body(ctx).get("sprint_id"))
            ),
        ),
        (
            "POST",
            "/_sim/control/sprints/{sprintId}/start",
            lambda ctx: guarded(lambda: control.start_sprint(int(ctx.params["sprintId"]))),
        ),
        (
            "POST",
            "/_sim/control/sprints/{sprintId}/close",
            lambda ctx: guarded(lambda: control.close_sprint(int(ctx.params["sprintId"]))),
        ),
        (
            "POST",
            "/_sim/control/admin-webhooks",
            lambda ctx: {
                "id": hooks.register(
                    body(ctx)["url"],
                    body(ctx)["events"],
                    body(ctx).get("jql"),
                    kind="admin",
                    secret=body(ctx).get("secret"),
                ).id
            },
        ),
        ("POST", "/_sim/control/deliver", lambda ctx: {"attempts": hooks.flush()}),
    ]
    return routes
