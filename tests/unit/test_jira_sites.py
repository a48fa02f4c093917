"""Which site URLs a team may register (jira_sites.py): Jira Cloud origins only."""

from __future__ import annotations

import pytest
from jira_onboarding.contracts import StartOnboardingRequest
from jira_onboarding.jira_sites import (
    JiraSiteError,
    checked_base_url,
    jira_site_origin,
    local_jira_allowed,
    oauth_site_origin,
)
from pydantic import ValidationError

CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        ("https://ACME.Atlassian.NET", "https://acme.atlassian.net"),
        ("HTTPS://acme-2.atlassian.net", "https://acme-2.atlassian.net"),
        ("https://legacy.jira.com", "https://legacy.jira.com"),
    ],
)
def test_jira_site_origin_normalises_a_cloud_site(url: str, origin: str) -> None:
    assert jira_site_origin(url, allow_local=False) == origin


REFUSED = {
    "http": ("http://acme.atlassian.net", "https"),
    "userinfo": ("https://user:pass@acme.atlassian.net", "user name or password"),
    "userinfo without password": ("https://token@acme.atlassian.net", "user name or password"),
    "path": ("https://acme.atlassian.net/jira", "without a path"),
    "query": ("https://acme.atlassian.net?x=1", "base URL"),
    "empty query": ("https://acme.atlassian.net?", "base URL"),
    "fragment": ("https://acme.atlassian.net#x", "base URL"),
    "port": ("https://acme.atlassian.net:8443", "port"),
    "default port": ("https://acme.atlassian.net:443", "port"),
    "deeper name": ("https://a.acme.atlassian.net", "Jira Cloud site"),
    "bare domain": ("https://atlassian.net", "Jira Cloud site"),
    "look-alike suffix": ("https://acme.atlassian.net.evil.com", "Jira Cloud site"),
    "look-alike prefix": ("https://evilatlassian.net", "Jira Cloud site"),
    "trailing dot": ("https://acme.atlassian.net.", "Jira Cloud site"),
    "internal name": ("https://jira.internal", "Jira Cloud site"),
    "metadata": ("https://169.254.169.254", "Jira Cloud site"),
    "private": ("https://10.0.0.1", "Jira Cloud site"),
    "decimal IP": ("https://2130706433", "Jira Cloud site"),
    "hex IP": ("https://0x7f000001", "Jira Cloud site"),
    "octal IP": ("https://0177.0.0.1", "Jira Cloud site"),
    "mapped IPv6": ("https://[::ffff:127.0.0.1]", "Jira Cloud site"),
    "IPv6 loopback": ("https://[::1]", "Jira Cloud site"),
    "loopback": ("https://127.0.0.1", "Jira Cloud site"),
    "localhost": ("https://localhost", "Jira Cloud site"),
    "percent escape": ("https://acme%2eatlassian.net", "base URL"),
    "backslash": ("https://evil.com\\@acme.atlassian.net", "user name or password"),
    "non-ASCII": ("https://acmé.atlassian.net", "base URL"),
    "space": ("https://acme atlassian.net", "base URL"),
    "other scheme": ("ftp://acme.atlassian.net", "https"),
    "no scheme": ("acme.atlassian.net", "https"),
    "too long": ("https://" + "a" * 300 + ".atlassian.net", "base URL"),
}


@pytest.mark.parametrize(("url", "words"), REFUSED.values(), ids=REFUSED.keys())
def test_jira_site_origin_refuses_anything_but_a_bare_cloud_origin(url: str, words: str) -> None:
    with pytest.raises(JiraSiteError, match=words):
        jira_site_origin(url, allow_local=False)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://localhost:9443/", "https://localhost:9443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
    ],
)
def test_jira_site_origin_accepts_loopback_when_local_jira_is_allowed(url: str, origin: str) -> None:
    assert jira_site_origin(url, allow_local=True) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@127.0.0.1:8080",
        "http://127.0.0.1:8080/rest",
        "http://2130706433:8080",
        "http://0x7f000001:8080",
        "http://[::ffff:127.0.0.1]:8080",
        "http://127.0.0.2:8080",
        "http://10.0.0.1:8080",
        "http://169.254.169.254",
        "http://acme.atlassian.net",
        "ftp://127.0.0.1:21",
    ],
)
def test_jira_site_origin_still_refuses_other_hosts_when_local_jira_is_allowed(url: str) -> None:
    with pytest.raises(JiraSiteError):
        jira_site_origin(url, allow_local=True)


def test_local_jira_allowed_only_when_the_setting_says_true(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOW_LOCAL_JIRA", raising=False)
    assert local_jira_allowed() is False
    monkeypatch.setenv("ALLOW_LOCAL_JIRA", "1")
    assert local_jira_allowed() is False
    monkeypatch.setenv("ALLOW_LOCAL_JIRA", "TRUE")
    assert local_jira_allowed() is True


def test_oauth_site_origin_is_the_gateway_and_a_uuid_cloud_id() -> None:
    assert oauth_site_origin(CLOUD_ID.upper()) == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    for bad in ("0a1b2c3d-0000", f"{CLOUD_ID}/../..", f"{CLOUD_ID}?x", "x" * 36):
        with pytest.raises(JiraSiteError, match="UUID"):
            oauth_site_origin(bad)


@pytest.mark.parametrize(
    ("stored", "allowed"),
    [
        ("https://acme.atlassian.net", True),
        (f"https://api.atlassian.com/ex/jira/{CLOUD_ID}", True),
        ("https://api.atlassian.com/ex/jira/not-a-uuid", False),
        ("https://api.atlassian.com/admin", False),
        ("https://169.254.169.254", False),
        ("http://127.0.0.1:8080", False),
    ],
)
def test_checked_base_url_refuses_a_stored_url_a_request_could_not_register(
    stored: str, allowed: bool
) -> None:
    if allowed:
        assert checked_base_url(stored, allow_local=False) == stored
    else:
        with pytest.raises(JiraSiteError):
            checked_base_url(stored, allow_local=False)


@pytest.mark.parametrize(
    "raw", ["ßalpha", "ALPHA\u0130", "\uff21LPHA", "A", "1ABC", "AB-C", "ABCDEFGHIJK", "AB\nC", "ab c"]
)
def test_start_request_refuses_a_project_key_outside_jiras_syntax_as_sent(raw: str) -> None:
    with pytest.raises(ValidationError, match="not a Jira project key"):
        StartOnboardingRequest.model_validate({"project_keys": [raw]})


def test_start_request_uppercases_and_dedupes_valid_ascii_keys() -> None:
    request = StartOnboardingRequest.model_validate({"project_keys": ["ops", " OPS ", "Alpha_2"]})
    assert request.project_keys == ["OPS", "ALPHA_2"]


def test_start_request_quotes_at_most_a_few_dozen_characters_of_a_bad_key() -> None:
    with pytest.raises(ValidationError) as caught:
        StartOnboardingRequest.model_validate({"project_keys": ["X" * 10_000]})
    message = str(caught.value.errors()[0]["msg"])
    assert "XXXX" in message
    assert len(message) < 200
