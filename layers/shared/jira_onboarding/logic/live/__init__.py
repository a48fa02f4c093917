"""Live updates: receive and authenticate webhooks, queue, apply events, sprints, metrics, registration."""
