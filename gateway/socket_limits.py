"""How many live sockets one account and one address hold, counted across gateways.

Every open socket holds a slot per address (from the moment it is accepted) and per
account (from its `connection_init`), in a Redis sorted set scored by when the slot lapses.
A socket renews its slots while it lives (gateway.live_sockets) and gives them back when it
closes; the slots of a gateway that died lapse by themselves after `lease_seconds`. A
socket over either cap is refused with close code 4429 and a reason naming the cap.

Redis away: the socket is admitted (and the log says so). Live events need Redis anyway, and
a cap that shut every dashboard out while Redis restarts would be the worse failure.
"""

from __future__ import annotations

import contextlib
import logging
from enum import Enum

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.clock import utcnow
from infra.settings import Settings

log = logging.getLogger(__name__)

# KEYS[1]: the slots; ARGV: now (ms), lapse (ms), socket id, cap. 1 admitted (or renewed), 0 full.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and
   redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


class Holder(Enum):
    """Who a slot is counted against, and what a refusal says."""

    ADDRESS = "addr", "Too many open connections from this address"
    ACCOUNT = "acct", "Too many open connections for this account"

    def __init__(self, key: str, refusal: str) -> None:
        self.key = key
        self.refusal = refusal


REFUSED_CLOSE_CODE = 4429  # graphql-transport-ws's "too many"; graphql-ws does not retry it


class SocketLimits:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.REDIS_KEY_PREFIX}:ws:"
        self.caps = {
            Holder.ADDRESS: settings.WS_MAX_SOCKETS_PER_ADDRESS,
            Holder.ACCOUNT: settings.WS_MAX_SOCKETS_PER_ACCOUNT,
        }
        self.lease_ms = int(settings.ws_slot_lease_seconds * 1000)
        self._admit = redis.register_script(_ADMIT)

    def _key(self, holder: Holder, name: str) -> str:
        return f"{self.prefix}{holder.key}:{name}"

    async def admit(self, holder: Holder, name: str, socket_id: str) -> bool:
        """Take (or renew) this socket's slot; False when the holder's slots are all taken."""
        now = int(utcnow().timestamp() * 1000)
        try:
            admitted = await self._admit(
                keys=[self._key(holder, name)],
                args=[now, now + self.lease_ms, socket_id, self.caps[holder]],
            )
        except RedisError as exc:
            log.warning("socket limits unavailable (%s); socket admitted uncounted", exc)
            return True
        return bool(admitted)

    async def release(self, holder: Holder, name: str, socket_id: str) -> None:
        with contextlib.suppress(RedisError):  # else the slot lapses by itself
            await self.redis.zrem(self._key(holder, name), socket_id)
