"""`collab dev`'s mail catcher and the development-only `/dev/mail` page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway import mailcatcher
from gateway.app import create_app
from infra.settings import Settings
from tests.utils.processes import free_port
from workers.mailer import Email, Mailer


async def test_caught_mail_is_stored_and_listed_in_development(
    http, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path))
    port = free_port()
    server = await mailcatcher.start(mailcatcher.mail_dir(tmp_path), "127.0.0.1", port)
    try:
        mailer = Mailer(settings.model_copy(update={"SMTP_PORT": port, "SMTP_HOST": "127.0.0.1"}))
        link = "http://collab.test/invitations/abc"
        report = await mailer.send_all([Email("dev:1", "dev@collab.example", "Hello <dev>",
                                              f"Open {link}\n", "<p>Hi</p>")])  # fmt: skip
        assert len(report.sent) == 1
    finally:
        server.close()
    [stored] = list((tmp_path / "mail").glob("*.eml"))
    listing = await http.get("/dev/mail")
    assert listing.status_code == 200
    assert "Hello &lt;dev&gt;" in listing.text and stored.name in listing.text
    page = await http.get(f"/dev/mail/{stored.name}")
    assert page.status_code == 200 and f"<a href='{link}'>" in page.text
    assert (await http.get(f"/dev/mail/{stored.name}?part=html")).text.strip() == "<p>Hi</p>"
    assert (await http.get("/dev/mail/..%2F..%2Fetc%2Fpasswd")).status_code == 404


async def test_dev_mail_is_not_mounted_in_production(settings: Settings):
    production = settings.model_copy(update={"ENVIRONMENT": "production"})
    app = create_app(production)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://collab.test") as client:  # fmt: skip
        assert (await client.get("/dev/mail")).status_code == 404
