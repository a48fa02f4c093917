"""`jira-onboarding sync --jira-url`: one line saying what is wrong with a URL, before anything
starts (once a path gave a 36-line traceback, and a URL without https:// "The connection to Jira
broke")."""

from __future__ import annotations

import pytest

from local_harness.cli import site_url_of
from local_harness.runner import RunnerError


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        ("acme.atlassian.net", "https://acme.atlassian.net"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),  # the simulator, on your machine
    ],
)
def test_a_site_url_is_taken_as_its_origin(given: str, origin: str) -> None:
    assert site_url_of(given) == origin


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("https://acme.atlassian.net/jira", "without a path"),
        ("http://10.0.0.1", "https URL"),
        ("https://example.com", "Jira Cloud site"),
        ("https://me:pw@acme.atlassian.net", "user name or password"),
    ],
)
def test_a_wrong_site_url_is_one_line_naming_the_problem(given: str, words: str) -> None:
    with pytest.raises(RunnerError) as refused:
        site_url_of(given)
    message = str(refused.value)
    assert words in message and "\n" not in message and message.startswith("--jira-url")
