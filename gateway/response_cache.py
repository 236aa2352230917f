"""The response cache for queries: shared by every gateway through Redis, never stale.

An entry is keyed by the caller, the document, its operation name and its variables (and
the schema, so a release never serves its predecessor's answers). It holds the answer's
bytes, the version counters it was computed under (`domain/versions.py`: the caller's
account and email, its own owner data and that of every owner it has a member record
with) and the earliest time-based end the answer relied on (a share's `expiresAt`, a
trial's end, an invitation's expiry).

A hit costs one Redis round trip and no database (`get_for_token`, called by the hit path
in gateway/cached_reads.py): a Lua script finds the session the gateways remember for the
bearer token (`remember_session`), then compares the entry's counters with the current
ones, checks the end and returns the bytes, or only the ETag when the client (or this
gateway's copy of the bytes) holds them already. Changes bump the
counters after they commit, in the same path that publishes live events. The counters are
read before the answer is computed, so a change racing the computation leaves an entry
that no longer matches: the worst case is a miss, never a stale answer.

The cache fails closed. A bump this gateway could not write (its Redis link cut) stays in
the outbox for the relay (domain.unit_of_work) and, until it is written, this gateway
serves nothing from the cache, neither from Redis nor from its own copies; it tries to
write it again before its next cached read. A copy of the bytes is only served when Redis
says the entry is current and has the copy's ETag, and the ETag is a digest of the bytes
themselves: counters that expired and came back can never make an old answer pass for a
new one (and the counters never come back lower, see workers.dispatch). Copies live at
most the entry TTL.

Only logged-in queries are cached; mutations, subscriptions, platform calls, answers with
errors other than FORBIDDEN or NOT_FOUND, and reads that declare themselves uncacheable
are not. Memory is bounded by a TTL per entry and a byte budget over all entries (oldest
evicted first). The scripts touch keys they find inside entries, which standalone Redis
and Sentinel allow and Redis Cluster does not.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from tortoise.expressions import Q

from domain import versions
from domain.accounts import session_for_token, token_hash
from domain.clock import utcnow
from gateway.redis_pipe import PipelinedRedis
from infra.redis_options import RedisOptions
from infra.settings import Settings
from models import Account, Member

log = logging.getLogger(__name__)

# Errors that are a deterministic part of the answer, so the answer may be kept.
KEEPABLE_ERROR_CODES = frozenset({"FORBIDDEN", "NOT_FOUND"})
MAX_DOCUMENT_CHARS = 20_000  # larger documents are answered but never cached
MAX_BODY_TO_REMEMBER = 8_192  # request bodies whose digest is remembered (256 of them)

# The entry's check, shared by both look-ups: the counters it was computed under are the
# current ones, no time-based end has passed; then its ETag, and its bytes unless the
# client (or this gateway) holds them already: only then are they read, since copying a
# large answer into the script is most of Redis's work for a hit.
_SERVE = """
local function serve(key, now, client_etag, vprefix, local_etag)
  local e = redis.call('HMGET', key, 'deps', 'vers', 'until', 'etag')
  if not e[1] then return nil end
  local till = tonumber(e[3])
  if till > 0 and now >= till then return nil end
  local deps = {}
  for k in string.gmatch(e[1], '%S+') do deps[#deps + 1] = vprefix .. k end
  local current = redis.call('MGET', unpack(deps))
  local parts = {}
  for i = 1, #deps do parts[i] = current[i] or '0' end
  if table.concat(parts, ' ') ~= e[2] then return nil end
  if client_etag ~= '' and client_etag == e[4] then return {e[4]} end
  if local_etag ~= '' and local_etag == e[4] then return {e[4], false} end
  return {e[4], redis.call('HGET', key, 'body')}
end
"""

# For a caller already known (its session read from the database).
_LOOKUP = (
    _SERVE
    + """
return serve(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], '') or false
"""
)

# From the bearer token alone, in one round trip: the session the gateways remember for it
# (live while its account's `s:` counter is the one it was remembered under), then that
# caller's entry. {0}: no session remembered (ask the database); {1, account}: no entry;
# {2, account, etag}: the client's copy is current; {3, account, etag, body}: a hit;
# {4, account, etag}: a hit, and this gateway's copy of the bytes (ARGV[6]) is current.
_SESSION_LOOKUP = (
    _SERVE
    + """
local s = redis.call('HMGET', KEYS[1], 'a', 'x', 'g')
if not s[1] then return {0} end
local now = tonumber(ARGV[1])
if now >= tonumber(s[2]) then return {0} end
if (redis.call('GET', ARGV[3] .. 's:' .. s[1]) or '0') ~= s[3] then return {0} end
local found = serve(ARGV[4] .. s[1] .. ':' .. ARGV[5], now, ARGV[2], ARGV[3], ARGV[6])
if not found then return {1, s[1]} end
if #found == 1 then return {2, s[1], found[1]} end
if not found[2] then return {4, s[1], found[1]} end
return {3, s[1], found[1], found[2]}
"""
)

_REMEMBER_SESSION = """
redis.call('HSET', KEYS[1], 'a', ARGV[1], 'x', ARGV[2], 'g', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
"""

_STORE = """
local size = string.len(ARGV[5])
local old = tonumber(redis.call('HGET', KEYS[3], KEYS[1]) or '0')
redis.call('HSET', KEYS[1], 'deps', ARGV[1], 'vers', ARGV[2], 'until', ARGV[3],
           'etag', ARGV[4], 'body', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('HSET', KEYS[3], KEYS[1], size)
redis.call('ZADD', KEYS[2], ARGV[7], KEYS[1])
local total = redis.call('INCRBY', KEYS[4], size - old)
local function forget(k, delete)
  total = redis.call('DECRBY', KEYS[4], tonumber(redis.call('HGET', KEYS[3], k) or '0'))
  redis.call('HDEL', KEYS[3], k)
  redis.call('ZREM', KEYS[2], k)
  if delete then redis.call('DEL', k) end
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf',
                              tonumber(ARGV[7]) - tonumber(ARGV[6]))) do
  forget(k, false)
end
while total > tonumber(ARGV[8]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  forget(oldest[1], true)
end
return total
"""


@functools.cache
def schema_fingerprint() -> str:
    """Changes with the schema and the release, so neither is served the other's answers."""
    from importlib.metadata import PackageNotFoundError, version

    from schema.root import sdl

    try:
        release = version("collab-gateway")
    except PackageNotFoundError:
        release = "unknown"
    return hashlib.sha256(f"{release}\n{sdl()}".encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=512)
def operation_type(document: str, operation_name: str | None) -> OperationType | None:
    """The type of the operation a request runs; None if the document does not parse or
    names no such operation (the normal path then reports the error)."""
    try:
        parsed = parse(document)
    except GraphQLError:
        return None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0].operation if len(operations) == 1 else None


@dataclass
class Lookup:
    """One cacheable request: where its entry lives and what it was computed under."""

    key: str
    deps: list[str]
    vector: str
    client_etag: str

    def etag(self, body: bytes) -> str:
        """A digest of the answer itself (and whose it is): one ETag names one answer,
        whatever counters it was computed under, so a client's or a gateway's copy is
        never taken for another answer that happens to share the counters' values."""
        digest = hashlib.sha256(self.key.encode() + b"\n" + body).hexdigest()
        return f'"{digest[:32]}"'


class Bumps(Protocol):
    """This process's version bumps that Redis did not take (workers.dispatch)."""

    unwritten: dict[uuid.UUID, list[str]]

    async def write_unwritten(self) -> bool: ...


@dataclass
class Hit:
    etag: str
    body: bytes | None  # None: the client's copy is current


@dataclass
class SessionLookup:
    account_id: str | None  # None: no session remembered for the token
    hit: Hit | None


class ResponseCache:
    def __init__(
        self, redis: Redis, settings: Settings, schema_fingerprint: str,
        bumps: Bumps | None = None,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.bumps = bumps
        self.settings = settings
        self.prefix = f"{settings.REDIS_KEY_PREFIX}:rc:"
        self.versions_prefix = settings.versions_prefix
        self.fingerprint = schema_fingerprint
        self.sessions_prefix = f"{settings.REDIS_KEY_PREFIX}:session:"
        self._lookup = redis.register_script(_LOOKUP)
        self._session_lookup = redis.register_script(_SESSION_LOOKUP)
        self._remember_session = redis.register_script(_REMEMBER_SESSION)
        self._store = redis.register_script(_STORE)
        self._remembered_digest = functools.lru_cache(maxsize=256)(self._body_digest)
        # The hit path's round trip, pipelined (gateway.redis_pipe); redis-py for TLS.
        url, options = settings.redis_url, RedisOptions.of(settings)
        self._pipe = (
            PipelinedRedis(url, options.command_timeout, options.connect_timeout)
            if settings.REDIS_PIPELINED_HIT_PATH and PipelinedRedis.supports(url)
            else None
        )
        # (session, request digest) -> (ETag, bytes, end on the monotonic clock) of answers
        # served, oldest first.
        self._copies: OrderedDict[tuple[str, str], tuple[str, bytes, float]] = OrderedDict()
        self._copy_bytes = 0
        self._copy_ttl = float(settings.RESPONSE_CACHE_TTL_SECONDS)

    # -- failing closed -----------------------------------------------------------------
    @property
    def trusted(self) -> bool:
        """False while a bump of this process is unwritten: then nothing is served from the
        cache (the hit path leaves such requests to the normal one)."""
        return self.bumps is None or not self.bumps.unwritten

    async def ready(self) -> bool:
        """Writes this process's unwritten bumps if any; True when the cache may be used."""
        if self.trusted:
            return True
        assert self.bumps is not None
        return await self.bumps.write_unwritten()

    async def aclose(self) -> None:
        if self._pipe is not None:
            await self._pipe.aclose()

    # -- deciding --------------------------------------------------------------------
    def request_digest(self, payload: Any) -> str | None:
        """What identifies a query whoever asks (the caller goes into the entry key), or
        None when this request is not to be cached."""
        if not isinstance(payload, dict):
            return None
        document, name = payload.get("query"), payload.get("operationName")
        variables = payload.get("variables") or {}
        if not isinstance(document, str) or len(document) > MAX_DOCUMENT_CHARS:
            return None
        if name is not None and not isinstance(name, str):
            return None
        if operation_type(document, name) is not OperationType.QUERY:
            return None
        try:
            canonical = orjson.dumps(
                [self.fingerprint, document, name, variables], option=orjson.OPT_SORT_KEYS
            )
        except TypeError:
            return None
        return hashlib.sha256(canonical).hexdigest()

    def body_digest(self, body: bytes) -> str | None:
        """`request_digest` of a raw request body, remembered per body: a dashboard sends
        the same bytes on every load, and a hit should not parse and hash them again."""
        if len(body) > MAX_BODY_TO_REMEMBER:
            return self._body_digest(body)
        return self._remembered_digest(body)

    def _body_digest(self, body: bytes) -> str | None:
        try:
            return self.request_digest(orjson.loads(body))
        except orjson.JSONDecodeError:
            return None

    def entry_key(self, account_id: uuid.UUID | str, digest: str) -> str:
        return f"{self.prefix}{account_id}:{digest}"

    async def dependencies(self, caller: Account) -> list[str]:
        """The counters any answer for this caller may depend on."""
        owners = (
            await Member.filter(Q(account_id=caller.id) | Q(email=caller.email))
            .distinct()
            .values_list("owner_id", flat=True)
        )
        keys = [versions.account_key(caller.id), versions.email_key(caller.email),
                versions.owner_key(caller.id)]  # fmt: skip
        keys += sorted({versions.owner_key(str(o)) for o in owners} - set(keys))
        return keys

    async def prepare(self, key: str, caller: Account, client_etag: str) -> Lookup:
        deps = await self.dependencies(caller)
        current = await self.redis.mget([self.versions_prefix + d for d in deps])
        vector = " ".join((v.decode() if isinstance(v, bytes) else str(v)) if v else "0"
                          for v in current)  # fmt: skip
        return Lookup(key, deps, vector, client_etag)

    # -- reading and writing -----------------------------------------------------------
    async def get(self, key: str, client_etag: str) -> Hit | None:
        now_ms = int(utcnow().timestamp() * 1000)
        found = await self._lookup(keys=[key], args=[now_ms, client_etag, self.versions_prefix])
        if not found:
            return None
        etag = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
        return Hit(etag, found[1] if len(found) > 1 else None)

    async def get_for_token(self, token: str, digest: str, client_etag: str) -> SessionLookup:
        """The session and the entry from the bearer token alone, in one round trip. The
        bytes come from this gateway's copy when the entry's ETag is the copy's: an ETag
        names one answer (clients holding it get 304 on the same grounds)."""
        now_ms = int(utcnow().timestamp() * 1000)
        session = token_hash(token)
        copy_key = (session, digest)
        copy = self._copies.get(copy_key)
        if copy is not None and copy[2] <= time.monotonic():
            copy = None  # too old to offer: Redis sends the bytes, and they are kept anew
        keys = [self.sessions_prefix + session]
        args: list[str | bytes | int] = [now_ms, client_etag, self.versions_prefix, self.prefix,
                                         digest, copy[0] if copy else ""]  # fmt: skip
        if self._pipe is not None:
            found = await self._pipe.evalsha(_SESSION_LOOKUP, keys, args)
        else:
            found = await self._session_lookup(keys=keys, args=args)
        outcome = found[0]
        if outcome == 0:
            return SessionLookup(None, None)
        account_id = found[1].decode()
        if outcome == 1:
            return SessionLookup(account_id, None)
        etag = found[2].decode()
        if outcome == 2:
            return SessionLookup(account_id, Hit(etag, None))
        if outcome == 4 and copy is not None:
            if copy_key in self._copies:  # other hits may have evicted it meanwhile
                self._copies.move_to_end(copy_key)
            return SessionLookup(account_id, Hit(etag, copy[1]))
        body = found[3]
        self._keep_copy(copy_key, etag, body)
        return SessionLookup(account_id, Hit(etag, body))

    def _keep_copy(self, key: tuple[str, str], etag: str, body: bytes) -> None:
        budget = self.settings.RESPONSE_CACHE_LOCAL_BYTES
        if len(body) > budget:
            return
        old = self._copies.pop(key, None)
        if old is not None:
            self._copy_bytes -= len(old[1])
        self._copies[key] = (etag, body, time.monotonic() + self._copy_ttl)
        self._copy_bytes += len(body)
        while self._copy_bytes > budget:
            _, (_, evicted, _) = self._copies.popitem(last=False)
            self._copy_bytes -= len(evicted)

    async def remember_session(self, token: str, account_id: uuid.UUID | str) -> bool:
        """Lets the next requests with this token skip the database, until a change that
        ends one of the account's sessions commits (it bumps `s:<account>`).

        The counter is read *before* the database says the session is live: a revocation
        that commits after that read bumps the counter past the value remembered here, and
        one that committed before it is seen by the read. Either way no gateway accepts the
        token once the revocation's commit path (which bumps before the mutation answers)
        is done. The entry lives at most the cache TTL from that read, while a counter lives
        twice that after its last bump: it can never read as an older value again."""
        now = utcnow()
        generation = await self.session_generation(account_id)
        found = await session_for_token(token)
        if found is None or str(found[0].id) != str(account_id):
            return False
        return await self.write_session(token, account_id, found[1], generation, now)

    async def session_generation(self, account_id: uuid.UUID | str) -> str:
        current = await self.redis.get(self.versions_prefix + versions.sessions_key(account_id))
        return current.decode() if current else "0"

    async def write_session(
        self, token: str, account_id: uuid.UUID | str, expires_at: datetime, generation: str,
        read_at: datetime,
    ) -> bool:  # fmt: skip
        """Remember a session found live after `generation` was read at `read_at`."""
        session_end_ms = int(expires_at.timestamp() * 1000)
        ttl_ms = self.settings.RESPONSE_CACHE_TTL_SECONDS * 1000
        forget_at = min(session_end_ms, int(read_at.timestamp() * 1000) + ttl_ms)
        if forget_at <= int(utcnow().timestamp() * 1000):
            return False
        await self._remember_session(
            keys=[self.sessions_prefix + token_hash(token)],
            args=[str(account_id), session_end_ms, generation, forget_at],
        )
        return True

    async def put(
        self, lookup: Lookup, body: bytes, scope: versions.ReadScope, etag: str | None = None
    ) -> bool:
        settings = self.settings
        if len(body) > settings.RESPONSE_CACHE_MAX_ENTRY_BYTES:
            return False
        now_ms = int(utcnow().timestamp() * 1000)
        ttl_ms = settings.RESPONSE_CACHE_TTL_SECONDS * 1000
        until_ms = 0
        if scope.deadline is not None:
            until_ms = int(scope.deadline.timestamp() * 1000)
            ttl_ms = max(1, min(ttl_ms, until_ms - now_ms))
        await self._store(
            keys=[lookup.key, self.prefix + "index", self.prefix + "sizes", self.prefix + "total"],
            args=[" ".join(lookup.deps), lookup.vector, until_ms, etag or lookup.etag(body), body, ttl_ms,
                  now_ms, settings.RESPONSE_CACHE_MAX_BYTES],
        )  # fmt: skip
        return True


def client_etag(request: Request) -> str:
    return request.headers.get("if-none-match", "").strip()


def cached_response(hit: Hit) -> Response:
    headers = cache_headers(hit.etag, "hit")
    if hit.body is None:
        return Response(status_code=304, headers=headers)
    return Response(hit.body, media_type="application/json", headers=headers)


def cache_headers(etag: str, outcome: str) -> dict[str, str]:
    # `private, no-cache`: a client may keep the answer but must ask again each time (and
    # gets 304 with no body while it is current); no shared cache may keep it at all.
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization",
            "X-Cache": outcome}  # fmt: skip


def keepable(errors: list[GraphQLError] | None) -> bool:
    return all((e.extensions or {}).get("code") in KEEPABLE_ERROR_CODES for e in errors or ())
