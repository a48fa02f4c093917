"""An onboarding run: start, plan, segments, lifecycle, reconcile, finish, status."""
