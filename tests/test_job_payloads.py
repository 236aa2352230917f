"""Every job family has a typed payload, and the pre-batching trial row is still read."""

from __future__ import annotations

from domain.jobs import PAYLOADS, Job, trial_members


def test_every_job_family_names_its_payload_type() -> None:
    assert set(PAYLOADS) == set(Job)
    for job, payload in PAYLOADS.items():
        assert payload.__required_keys__, f"{job} carries nothing?"


def test_a_trial_row_written_before_batching_is_read_as_a_batch_of_one() -> None:
    legacy = {"member_id": "m1", "trial_ends_at": "2026-01-01T00:00:00+00:00"}
    assert trial_members(legacy) == [legacy]
    batched = {"members": [legacy, {"member_id": "m2", "trial_ends_at": "x"}], "request_id": "r"}
    assert [m["member_id"] for m in trial_members(batched)] == ["m1", "m2"]
    assert trial_members({}) == []
