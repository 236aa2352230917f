"""Issue 19, finding 11: `collab dev` believed X-Forwarded-For from 127.0.0.1 (a new address
per request escaped every per-address limit), and `/dev/mail` showed verification links
to anyone who could reach it.

Now X-Forwarded-For is believed only from TRUSTED_PROXIES (empty by default, in `dev` as
in `serve`), and `/dev/mail` says it is for development only and answers loopback clients
only. Tested against real `collab dev` processes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.utils.processes import free_port, start, stop, wait_until_up

LOG_IN = """mutation($email: String!) { logIn(email: $email, password: "wrong-password") {
  token errors { code } } }"""


@contextmanager
def collab_dev(tmp_path: Path, **settings: str) -> Iterator[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    setting_names = set(Settings.model_fields)
    env = {k: v for k, v in os.environ.items() if k not in setting_names}
    env.update(COLLAB_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite://{tmp_path / 'dev.db'}",
               REDIS_URL="redis://127.0.0.1:6379/0",
               REDIS_KEY_PREFIX=f"collab-test:{uuid.uuid4().hex[:12]}",
               RATE_LIMIT_LOGIN_ADDRESS_EMAIL="3/15 minutes", **settings)  # fmt: skip
    port, log_path = free_port(), tmp_path / "dev.log"
    with log_path.open("wb") as log:
        proc = start(["dev", "--port", str(port), "--smtp-port", str(free_port())], env, log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, proc, log_path, timeout=60)
        yield url
    finally:
        stop([proc])


def failed_log_ins(url: str, count: int) -> list[str]:
    """Wrong passwords for one email, each request claiming another client address."""
    codes = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(count):
            r = client.post("/graphql", json={"query": LOG_IN,
                                              "variables": {"email": "olga@collab.example"}},
                            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})  # fmt: skip
            codes.append(r.json()["data"]["logIn"]["errors"][0]["code"])
    return codes


def test_collab_dev_ignores_forwarded_addresses_unless_told_to_trust_a_proxy(tmp_path: Path):
    with collab_dev(tmp_path / "default") as url:
        assert failed_log_ins(url, 6) == ["UNAUTHENTICATED"] * 3 + ["RATE_LIMITED"] * 3
        # The header names no client either for /dev/mail: the peer (loopback) is served.
        page = httpx.get(f"{url}/dev/mail", headers={"X-Forwarded-For": "203.0.113.9"})
        assert page.status_code == 200 and "Development only" in page.text
    # A proxy the deployment names is believed: then the address is the forwarded one.
    with collab_dev(tmp_path / "proxied", TRUSTED_PROXIES="127.0.0.1") as url:
        assert failed_log_ins(url, 6) == ["UNAUTHENTICATED"] * 6
        page = httpx.get(f"{url}/dev/mail", headers={"X-Forwarded-For": "203.0.113.9"})
        assert page.status_code == 403 and "/dev/mail/" not in page.text


async def test_dev_mail_serves_loopback_clients_only(app, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path))
    mail = tmp_path / "mail"
    mail.mkdir()
    name = f"{'1' * 13}-{uuid.uuid4().hex}.eml"
    (mail / name).write_bytes(b"To: a@collab.example\r\nSubject: Verify\r\n\r\n"
                              b"http://collab.test/account/verify-email/secret\r\n")  # fmt: skip

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4321))
        return httpx.AsyncClient(transport=transport, base_url="http://collab.test")

    for address in ("127.0.0.1", "::1"):
        async with client(address) as http:
            listing = await http.get("/dev/mail")
            assert listing.status_code == 200 and name in listing.text
            assert "Development only" in listing.text
            page = await http.get(f"/dev/mail/{name}")
            assert page.status_code == 200 and "verify-email/secret" in page.text
    for address in ("192.0.2.10", "10.0.0.5", "2001:db8::1"):
        async with client(address) as http:
            for path in ("/dev/mail", f"/dev/mail/{name}", f"/dev/mail/{name}?part=html"):
                refused = await http.get(path)
                assert refused.status_code == 403, (address, path)
                assert name not in refused.text and "secret" not in refused.text
