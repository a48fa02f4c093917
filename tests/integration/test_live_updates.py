"""Live updates end to end: a change in the simulator reaches the store through the webhook
receiver, the queue and the consumer, all from template.yaml on the local stack."""

from __future__ import annotations

from tests.integration.live_support import live_world


def test_live_updates_edit_reaches_store():
    with live_world() as world:
        world.hooks.publish(world.control.edit_issue("ALPHA-3", summary="Edited live"))
        world.deliver()
        stored = world.stored()["ALPHA-3"]
        assert stored["summary"] == "Edited live"
        assert stored["run_id"] == "live"
