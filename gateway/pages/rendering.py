"""Rendering the server-side pages: one Jinja2 environment, safe headers, readable errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from domain.errors import DomainError, ErrorCode
from gateway.pages.csrf import FIELD, CsrfGuard

_env = Environment(
    # By path, not by package: an editable install may expose `gateway` as a namespace.
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a typo in a template fails the tests, not the reader
    trim_blocks=True,
    lstrip_blocks=True,
)

# The token is in the URL: never leak it through Referer, caches or framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def render(
    template: str, context: dict[str, Any], status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


# code -> (status, heading, explanation)
_ERROR_PAGES: dict[ErrorCode, tuple[int, str, str]] = {
    ErrorCode.INVALID_TOKEN: (
        404,
        "This invitation link is not valid",
        "It may have been used already, replaced by a newer invitation, or copied "
        "incompletely. Ask the person who invited you to send the invitation again.",
    ),
    ErrorCode.NOT_FOUND: (
        404,
        "This invitation link is not valid",
        "Ask the person who invited you to send the invitation again.",
    ),
    ErrorCode.TOKEN_EXPIRED: (
        410,
        "This invitation has expired",
        "Invitations are valid for a limited time and this one was not answered in time. "
        "Ask the person who invited you to send a new invitation.",
    ),
    ErrorCode.RATE_LIMITED: (
        429,
        "Too many attempts",
        "There were too many attempts from your network. Wait a few minutes, then open the "
        "link from your email again.",
    ),
    ErrorCode.INVALID_STATE: (
        409,
        "This invitation can no longer be answered",
        "It was answered, withdrawn or changed in the meantime.",
    ),
    ErrorCode.CONFLICT: (
        409,
        "This invitation could not be completed",
        "Something changed in the meantime. Open the link from your email again.",
    ),
    ErrorCode.FORBIDDEN: (403, "Not allowed", "You are not allowed to do this."),
    ErrorCode.UNAUTHENTICATED: (401, "Log in first", "Open the link from your email again."),
    ErrorCode.VALIDATION: (400, "Something is missing", "Go back and check the form."),
}


def error_page(
    status: int, heading: str, explanation: str, *, retry_link: str | None = None,
    retry_label: str = "Open the invitation again", headers: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    context = {"status": status, "heading": heading, "explanation": explanation,
               "retry_link": retry_link, "retry_label": retry_label}  # fmt: skip
    return render("error.html", context, status, headers)


def domain_error_page(error: DomainError, *, retry_after: int | None = None) -> HTMLResponse:
    status, heading, explanation = _ERROR_PAGES.get(
        error.code, (400, "This did not work", error.message)
    )
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_page(status, heading, explanation, headers=headers)


async def signed_form(
    request: Request, csrf: CsrfGuard, purpose: str, *, what: str, retry_link: str,
    retry_label: str,
) -> FormData | Response:  # fmt: skip
    """The posted form when it carries this server's CSRF signature for `purpose`, else the
    page to show instead (400 unreadable, 403 forged or stale: nothing is changed)."""
    try:
        form = await request.form(max_files=0, max_fields=10, max_part_size=16 * 1024)
    except Exception:
        return error_page(400, "The form could not be read", "Go back and try again.")
    submitted = form.get(FIELD)
    if not isinstance(submitted, str) or not csrf.valid(request, submitted, purpose):
        return error_page(
            403, "This form has expired",
            f"For your safety nothing was changed. Open {what} again and resubmit the form "
            "from there.",
            retry_link=retry_link, retry_label=retry_label,
        )  # fmt: skip
    return form
