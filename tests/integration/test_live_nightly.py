"""With 10% of deliveries dropped, the next nightly run brings the store back to ground truth."""

from __future__ import annotations

from jira_simulator.webhooks import DeliveryFaults
from tests.conftest import load_event
from tests.integration.live_support import TRACKED, live_world, stored_live, truth


def test_live_dropped_deliveries_are_restored_by_the_next_nightly_run():
    with live_world(faults=DeliveryFaults(duplicates_max=1, reorder=True, drop_rate=0.1), seed=5) as world:
        control = world.control
        changes = []
        for n in range(1, 16):
            changes += control.edit_issue(f"ALPHA-{n}", summary=f"dropped test {n}", status="In Progress")
        for n in range(1, 6):
            changes += control.create_issue("BETA", f"new {n}", points=3.0)
        changes += control.delete_issue("BETA-2")
        world.hooks.publish(changes)
        world.deliver()
        assert world.hooks.dropped, "the fault plan dropped some deliveries"
        assert stored_live(world, TRACKED) != truth(world, TRACKED)
        result, error = world.stack.invoke(
            world.stack.resolver.physical["NightlyRetryFunction"], load_event("nightly_retry")
        )
        assert error is None, result
        assert {e["status"] for e in world.stack.wait_for_executions(timeout_s=120)} == {"SUCCEEDED"}
        assert stored_live(world, TRACKED) == truth(world, TRACKED)
