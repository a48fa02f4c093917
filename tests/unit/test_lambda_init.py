"""`lambda_init`: a function's imports run without garbage collection, and what they created is
frozen out of later collections."""

from __future__ import annotations

import gc

from jira_onboarding import lambda_init


def test_lambda_init_pauses_collection_then_freezes_what_the_imports_created():
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()

    with lambda_init():
        # When the imports run, nothing is collected
        assert not gc.isenabled()
        created = [{"a module's": "objects"} for _ in range(100)]

    # Then collection is back on, and the objects are frozen, never walked again
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(created)


def test_lambda_init_leaves_collection_off_when_it_was_off():
    gc.disable()
    try:
        with lambda_init():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
