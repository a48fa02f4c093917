"""Envelope encryption of the teams' credentials: one KMS key, a data key per execution environment."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from jira_onboarding import credentials
from jira_onboarding.credentials import CredentialsUnreadableError, seal, unseal
from moto import mock_aws

REGION = "us-east-1"
SECRET = {"email": "a@b.c", "api_token": "tok-123"}


@pytest.fixture
def key_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        credentials.clear_caches()
        from jira_onboarding import aws

        aws.clear_caches()
        yield boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        credentials.clear_caches()
        aws.clear_caches()


def _calls() -> dict[str, int]:
    return dict(credentials.kms_calls)


def test_seal_round_trips_and_keeps_the_value_out_of_the_envelope(key_id: str):
    envelope = seal("team-a", SECRET, key_id=key_id, region=REGION)
    assert "tok-123" not in envelope and "a@b.c" not in envelope
    assert unseal("team-a", envelope, region=REGION) == SECRET


def test_unseal_refuses_an_envelope_of_another_team(key_id: str):
    envelope = seal("team-a", SECRET, key_id=key_id, region=REGION)
    with pytest.raises(CredentialsUnreadableError):
        unseal("team-b", envelope, region=REGION)


def test_unseal_refuses_an_altered_or_malformed_envelope(key_id: str):
    envelope = seal("team-a", SECRET, key_id=key_id, region=REGION)
    import json

    parts = json.loads(envelope)
    parts["data"] = parts["data"][:-4] + ("AAAA" if parts["data"][-4:] != "AAAA" else "BBBB")
    for damaged in (json.dumps(parts), "not json", "{}"):
        with pytest.raises(CredentialsUnreadableError):
            unseal("team-a", damaged, region=REGION)


def test_seal_asks_kms_for_one_data_key_per_execution_environment(key_id: str):
    before = _calls()
    envelopes = [seal(f"team-{i}", SECRET, key_id=key_id, region=REGION) for i in range(50)]
    assert _calls()["GenerateDataKey"] - before["GenerateDataKey"] == 1
    assert len(set(envelopes)) == 50  # a fresh nonce each time

    # a new execution environment decrypts the one data key once, then every team locally
    credentials.clear_caches()
    before = _calls()
    assert all(unseal(f"team-{i}", e, region=REGION) == SECRET for i, e in enumerate(envelopes))
    assert _calls()["Decrypt"] - before["Decrypt"] == 1


def test_seal_takes_a_new_data_key_after_its_use_limit(key_id: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(credentials, "DATA_KEY_MAX_USES", 3)
    before = _calls()
    for i in range(7):
        seal(f"team-{i}", SECRET, key_id=key_id, region=REGION)
    assert _calls()["GenerateDataKey"] - before["GenerateDataKey"] == 3
