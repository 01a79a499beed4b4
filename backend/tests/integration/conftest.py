# The local sandbox fixtures live with the attack suite, which uses them too; the throwaway
# servers (for outage tests) with their helpers.
from tests.security.sandbox_fixtures import sandbox_host, sandbox_jobs, sandbox_runner
from tests.throwaway import ferretdb_server, kafka_broker, redis_server

__all__ = [
    "ferretdb_server",
    "kafka_broker",
    "redis_server",
    "sandbox_host",
    "sandbox_jobs",
    "sandbox_runner",
]
