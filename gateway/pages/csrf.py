"""CSRF protection for the server-rendered forms: a signed double-submit token.

The browser holds a random nonce in an HttpOnly, SameSite=Lax cookie; every form carries
HMAC(SECRET_KEY, nonce + what the form is for). A forged cross-site POST has neither the
cookie (SameSite) nor a way to compute the signature (it needs the secret), and a planted
cookie is useless without a signature minted by this server for that very cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "collab_csrf"
FIELD = "csrf_token"
_NONCE_BYTES = 32
_MAX_COOKIE_AGE = 24 * 60 * 60


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class CsrfGuard:
    def __init__(self, secret: str, *, secure: bool, path: str = "/") -> None:
        # A key of its own, so a CSRF signature is never valid as any other signature.
        self._key = hashlib.sha256(b"collab-gateway csrf\0" + secret.encode()).digest()
        self.secure = secure
        self.path = path

    def nonce(self, request: Request) -> tuple[str, bool]:
        """The browser's nonce, and whether it is new (and so must be set as a cookie)."""
        current = request.cookies.get(COOKIE, "")
        if 20 <= len(current) <= 100 and current.replace("-", "").replace("_", "").isalnum():
            return current, False
        return _b64(secrets.token_bytes(_NONCE_BYTES)), True

    def sign(self, nonce: str, purpose: str) -> str:
        digest = hmac.new(self._key, f"{nonce}\0{purpose}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def valid(self, request: Request, submitted: str | None, purpose: str) -> bool:
        nonce = request.cookies.get(COOKIE)
        if not nonce or not submitted:
            return False
        return hmac.compare_digest(self.sign(nonce, purpose).encode(), submitted.encode())

    def set_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(
            COOKIE, nonce, max_age=_MAX_COOKIE_AGE, path=self.path,
            secure=self.secure, httponly=True, samesite="lax",
        )  # fmt: skip
