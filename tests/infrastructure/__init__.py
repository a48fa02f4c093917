"""Checks of the infrastructure: template, state machine, function layout, SAM build."""
