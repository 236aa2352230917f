"""aiosmtplib below its public API: the connection's transport, taken over for pipelining
(workers.smtp_pipeline), and its address quoting.

Relied on (aiosmtplib 5): a connected `SMTP` client's `transport` attribute is the
asyncio transport of the connection (after EHLO, STARTTLS and login, the one to talk on);
`aiosmtplib.email.quote_address(address)` gives `<address>` as MAIL and RCPT carry it.
"""

from __future__ import annotations

import asyncio
import inspect

import aiosmtplib
from aiosmtplib.email import quote_address

from infra.adapters import AdapterBroken

ADAPTER = "workers.adapters.aiosmtplib_client"


def transport_of(client: aiosmtplib.SMTP) -> asyncio.Transport:
    """The open connection's transport; SMTPServerDisconnected when there is none."""
    transport = client.transport
    if not isinstance(transport, asyncio.Transport):
        raise aiosmtplib.SMTPServerDisconnected("Not connected")
    return transport


def angle_address(address: str) -> str:
    return quote_address(address)


def verify() -> None:
    if "transport" not in inspect.getsource(aiosmtplib.SMTP.__init__):
        raise AdapterBroken(ADAPTER, "aiosmtplib.SMTP no longer keeps its transport")
    if quote_address("Ann <ann@example.com>") != "<ann@example.com>":
        raise AdapterBroken(ADAPTER, "aiosmtplib.email.quote_address answers differently")
