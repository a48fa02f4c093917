"""The nightly fan-out: the team's schedule and the nightly run."""
