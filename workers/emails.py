"""Email templates: every email has a plain-text and an HTML part saying the same thing.

Values from users: names are shown as quoted data (“Olga Owner”), on one line, without
control or text-direction characters (domain.user_text), in the subject and both parts,
whatever the row holds; HTML escapes everything. An alert's message is quoted verbatim in
the body (the contract says so). Subjects are flattened to one line here, and the
renderer (`workers/rendering.py`, which writes messages directly) refuses any header
value with a line break.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from domain.user_text import plain, quoted
from workers.mailer import Email


@dataclass(frozen=True)
class SharedItem:
    label: str  # "environment shop-prod", "group Production", "all environments"
    roles: tuple[str, ...]


def _one_line(value: str, limit: int = 120) -> str:
    """For subjects: line breaks and runaway lengths never reach a header."""
    flat = plain(value)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _quoted(name: str, limit: int = 40) -> str:
    """A name someone typed, in a subject: quoted and short, so it reads as a name and
    cannot pose as the sentence around it ("Your bank: verify at evil.example ...")."""
    flat = plain(name).replace('"', "'")
    return f'"{flat if len(flat) <= limit else flat[: limit - 1] + "…"}"'


def _html(title: str, body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family: sans-serif; line-height: 1.5">'
        f'{body}<p style="color:#777">collab-gateway</p></body></html>'
    )


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "no date"


def invitation(
    *, key: str, to: str, owner_name: str, owner_email: str, items: list[SharedItem],
    link: str, expires_at: datetime | None, reminder: bool = False,
) -> Email:  # fmt: skip
    who = owner_name or owner_email
    subject = _one_line(f"{_quoted(who)} invited you to collaborate on their environments")
    if reminder:
        subject = _one_line(f"Reminder: {subject}")
    lines = [f"{quoted(who)} ({plain(owner_email)}) invited you to collaborate on their "
             "environments.", ""]  # fmt: skip
    if items:
        lines.append("Shared with you:")
        lines += [f"  - {plain(i.label)} ({plain(', '.join(i.roles)) or 'no role'})" for i in items]
    else:
        lines.append("Nothing is shared yet; the owner can share environments later.")
    lines += ["", f"Accept or reject the invitation: {link}",
              f"The link works once and expires on {_date(expires_at)}."]  # fmt: skip
    item_html = "".join(
        f"<li>{escape(plain(i.label))} "
        f"<small>({escape(plain(', '.join(i.roles)) or 'no role')})</small></li>"
        for i in items
    )
    html = _html(subject, (
        f"<p><strong>{escape(plain(who))}</strong> ({escape(owner_email)}) invited you to collaborate "
        "on their environments.</p>"
        + (f"<p>Shared with you:</p><ul>{item_html}</ul>" if items
           else "<p>Nothing is shared yet; the owner can share environments later.</p>")
        + f"<p><a href=\"{escape(link, quote=True)}\">Accept or reject the invitation</a></p>"
        f"<p><small>{escape(link)}<br>The link works once and expires on "
        f"{escape(_date(expires_at))}.</small></p>"
    ))  # fmt: skip
    return Email(key, to, subject, "\n".join(lines) + "\n", html)


DECISION_SUBJECTS = {
    "accepted": "{email} accepted your invitation",
    "rejected": "{email} rejected your invitation",
    "left": "{email} left your collaboration",
}


def decision(*, key: str, to: str, member_email: str, member_name: str | None,
             decision: str) -> Email:  # fmt: skip
    subject = _one_line(DECISION_SUBJECTS[decision].format(email=member_email), 200)
    alias = f" ({quoted(member_name)})" if member_name and plain(member_name) else ""
    if decision == "left":
        text = (
            f"{member_email}{alias} left your collaboration and no longer sees your environments."
        )
    else:
        text = f"{member_email}{alias} {decision} your invitation to collaborate."
    return Email(key, to, subject, text + "\n", _html(subject, f"<p>{escape(text)}</p>"))


def share_notice(*, key: str, to: str, owner_name: str, environment_name: str,
                 environment_display: str, link: str) -> Email:  # fmt: skip
    shown = plain(environment_display) or environment_name
    subject = _one_line(f"{_quoted(owner_name)} shared the environment {environment_name} with you")
    text = (f"{quoted(owner_name)} shared the environment {quoted(shown)} ({environment_name}) "
            "with you.\n"
            f"Open it under \"Shared with me\": {link}\n")  # fmt: skip
    html = _html(subject, (
        f"<p>{escape(quoted(owner_name))} shared the environment <strong>{escape(shown)}</strong> "
        f"({escape(environment_name)}) with you.</p>"
        f"<p><a href=\"{escape(link, quote=True)}\">Open \"Shared with me\"</a></p>"
    ))  # fmt: skip
    return Email(key, to, subject, text, html)


@dataclass(frozen=True)
class SharedEnvironment:
    name: str
    display_name: str
    link: str  # its place in "Shared with me"


def share_digest(*, key: str, to: str, owner_name: str,
                 environments: list[SharedEnvironment], overview_link: str) -> Email:  # fmt: skip
    """One change, every environment it made visible (NotificationPreference.DIGEST)."""
    count = len(environments)
    what = "1 environment" if count == 1 else f"{count} environments"
    subject = _one_line(f"{_quoted(owner_name)} shared {what} with you")
    lines = [f"{quoted(owner_name)} shared {what} with you:", ""]
    lines += [f"  - {quoted(plain(e.display_name) or e.name)} ({e.name}): {e.link}"
              for e in environments]  # fmt: skip
    lines += ["", f'Everything shared with you is under "Shared with me": {overview_link}']
    items = "".join(
        f'<li><a href="{escape(e.link, quote=True)}">{escape(plain(e.display_name) or e.name)}</a> '
        f"({escape(e.name)})</li>"
        for e in environments
    )
    html = _html(subject, (
        f"<p>{escape(quoted(owner_name))} shared {what} with you:</p><ul>{items}</ul>"
        f"<p><a href=\"{escape(overview_link, quote=True)}\">Open \"Shared with me\"</a></p>"
    ))  # fmt: skip
    return Email(key, to, subject, "\n".join(lines) + "\n", html)


def trial_expired_member(*, key: str, to: str, owner_name: str, ends: datetime | None) -> Email:
    subject = _one_line(
        f"Your trial ended: access to {_quoted(owner_name)}'s environments is paused"
    )
    text = (f"Your trial ended on {_date(ends)}, so your access to the environments "
            f"{quoted(owner_name)} shares with you is paused. Upgrade your account to get it back.\n")  # fmt: skip
    return Email(key, to, subject, text, _html(subject, f"<p>{escape(text)}</p>"))


def trial_expired_owner(*, key: str, to: str, member_email: str, ends: datetime | None) -> Email:
    subject = _one_line(f"{member_email}'s trial ended: their access is paused", 200)
    text = (f"The trial of {member_email} ended on {_date(ends)}. Their access to your "
            "environments is paused until their account is upgraded.\n")  # fmt: skip
    return Email(key, to, subject, text, _html(subject, f"<p>{escape(text)}</p>"))


ALERT_TITLES = {"load": "Load alert", "scaling": "Scaling event"}


def alert(*, key: str, to: str, kind: str, environment_name: str, message: str) -> Email:
    title = ALERT_TITLES.get(kind, "Alert")
    subject = _one_line(f"{title}: {environment_name}")
    text = f"{title} for the environment {environment_name}:\n\n{message}\n"
    html = _html(subject, (
        f"<p>{escape(title)} for the environment <strong>{escape(environment_name)}</strong>:</p>"
        f"<blockquote><pre style=\"white-space: pre-wrap\">{escape(message)}</pre></blockquote>"
    ))  # fmt: skip
    return Email(key, to, subject, text, html)


def password_reset(*, key: str, to: str, link: str, expires_at: datetime | None) -> Email:
    subject = "Reset your collab-gateway password"
    text = (f"Someone (hopefully you) asked to reset the password of the account {to}.\n\n"
            f"Choose a new password: {link}\n\n"
            f"The link works once and expires on {_date(expires_at)}. Resetting the password "
            "logs the account out everywhere. If you did not ask for this, ignore this email: "
            "your password stays as it is.\n")  # fmt: skip
    html = _html(subject, (
        f"<p>Someone (hopefully you) asked to reset the password of the account "
        f"<strong>{escape(to)}</strong>.</p>"
        f"<p><a href=\"{escape(link, quote=True)}\">Choose a new password</a></p>"
        f"<p><small>{escape(link)}<br>The link works once and expires on "
        f"{escape(_date(expires_at))}. Resetting the password logs the account out "
        "everywhere. If you did not ask for this, ignore this email: your password stays "
        "as it is.</small></p>"
    ))  # fmt: skip
    return Email(key, to, subject, text, html)


def email_verification(*, key: str, to: str, link: str, expires_at: datetime | None) -> Email:
    subject = "Confirm your email address for collab-gateway"
    text = (f"Confirm that {to} is your email address: {link}\n\n"
            "Until you do, you can use your account but cannot invite collaborators. "
            f"The link works once and expires on {_date(expires_at)}.\n")  # fmt: skip
    html = _html(subject, (
        f"<p>Confirm that <strong>{escape(to)}</strong> is your email address.</p>"
        f"<p><a href=\"{escape(link, quote=True)}\">Confirm my email address</a></p>"
        f"<p><small>{escape(link)}<br>Until you do, you can use your account but cannot "
        f"invite collaborators. The link works once and expires on "
        f"{escape(_date(expires_at))}.</small></p>"
    ))  # fmt: skip
    return Email(key, to, subject, text, html)


MEMBER_STATUS_TEXT = {
    "suspended": (
        "{owner} suspended your access",
        "{owner} ({owner_email}) suspended your access to the environments they share with "
        "you. Your shares are kept; you will have access again if they re-activate you.",
    ),
    "activated": (
        "{owner} re-activated your access",
        "{owner} ({owner_email}) re-activated your access: the environments they share with "
        'you are under "Shared with me" again.',
    ),
    "removed": (
        "{owner} removed you as a collaborator",
        "{owner} ({owner_email}) removed you as a collaborator: you no longer see the "
        "environments they shared with you.",
    ),
}


def member_status(*, key: str, to: str, owner_name: str, owner_email: str, change: str) -> Email:
    subject_format, text_format = MEMBER_STATUS_TEXT[change]
    subject = _one_line(subject_format.format(owner=quoted(owner_name or owner_email, 80)))
    text = text_format.format(owner=quoted(owner_name or owner_email), owner_email=owner_email)
    return Email(key, to, subject, text + "\n", _html(subject, f"<p>{escape(text)}</p>"))


def trial_warning_member(*, key: str, to: str, owner_names: list[str], ends: datetime) -> Email:
    subject = _one_line(f"Your trial ends on {_date(ends)}: shared access will pause")
    owners = ", ".join(quoted(n) for n in owner_names) or "the owners you work with"
    text = (f"Your trial ends on {_date(ends)}. After that, your access to the environments "
            f"shared with you by {owners} is paused until you upgrade your account.\n")  # fmt: skip
    return Email(key, to, subject, text, _html(subject, f"<p>{escape(text)}</p>"))


def trial_warning_owner(*, key: str, to: str, member_email: str, ends: datetime) -> Email:
    subject = _one_line(f"{member_email}'s trial ends on {_date(ends)}", 200)
    text = (f"The trial of {member_email} ends on {_date(ends)}. Their access to your "
            "environments will then be paused until their account is upgraded.\n")  # fmt: skip
    return Email(key, to, subject, text, _html(subject, f"<p>{escape(text)}</p>"))
