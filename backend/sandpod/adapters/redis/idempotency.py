"""Idempotency keys: SET NX EX binding a key to (fingerprint, execution id)."""

import json

from redis.asyncio import Redis

from sandpod.adapters.redis.errors import unavailable_when_down

# Bind, or return the existing binding, atomically (a plain SET NX then GET could see it expire).
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return false
end
return redis.call('GET', KEYS[1])
"""

# Unbind only while the key still names that execution (it may have expired and been reused).
_RELEASE_FOR = """
local bound = redis.call('GET', KEYS[1])
if bound and cjson.decode(bound)['execution_id'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotencyKeys:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}idempotency:"
        self._claim = client.register_script(_CLAIM)
        self._release_for = client.register_script(_RELEASE_FOR)

    async def claim(
        self, scope: str, key: str, fingerprint: str, execution_id: str, ttl_seconds: int
    ) -> tuple[str, str] | None:
        binding = json.dumps({"fingerprint": fingerprint, "execution_id": execution_id})
        with unavailable_when_down(self._client):
            existing = await self._claim(
                keys=[self._key(scope, key)], args=[binding, max(1, ttl_seconds)]
            )
        if existing is None:
            return None
        bound = json.loads(existing)
        return str(bound["fingerprint"]), str(bound["execution_id"])

    async def release(self, scope: str, key: str, *, only_for: str | None = None) -> None:
        with unavailable_when_down(self._client):
            if only_for is None:
                await self._client.delete(self._key(scope, key))
            else:
                await self._release_for(keys=[self._key(scope, key)], args=[only_for])

    def _key(self, scope: str, key: str) -> str:
        # Length-prefixed scope: ("a:b", "c") and ("a", "b:c") must never share a binding, or one
        # caller could replay another's execution.
        return f"{self._prefix}{len(scope)}:{scope}:{key}"
