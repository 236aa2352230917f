"""A display name is attacker-chosen text: in a subject it is quoted, short and on one line."""

from __future__ import annotations

from workers import emails

HOSTILE = 'Your bank\r\nBcc: x@evil.example\n"Verify your account now at evil.example" ' + "!" * 200


def test_a_hostile_display_name_is_quoted_in_every_subject():
    invitation = emails.invitation(
        key="k", to="v@collab.example", owner_name=HOSTILE, owner_email="a@evil.example",
        items=[], link="https://collab.example.com/invitations/t", expires_at=None,
    )  # fmt: skip
    share = emails.share_notice(key="k", to="v@collab.example", owner_name=HOSTILE,
                                environment_name="web-1", environment_display="", link="l")  # fmt: skip
    trial = emails.trial_expired_member(key="k", to="v@collab.example", owner_name=HOSTILE,
                                        ends=None)  # fmt: skip
    for subject in (invitation.subject, share.subject, trial.subject):
        assert "\n" not in subject and "\r" not in subject
        quoted = subject[subject.index('"') : subject.rindex('"') + 1]
        assert quoted.startswith('"Your bank Bcc:') and quoted.count('"') == 2
        assert len(quoted) <= 42
    assert invitation.subject.endswith(" invited you to collaborate on their environments")
