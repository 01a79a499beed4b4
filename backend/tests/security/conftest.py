from tests.cluster import cluster
from tests.security.sandbox_fixtures import sandbox_host, sandbox_jobs, sandbox_runner

__all__ = ["cluster", "sandbox_host", "sandbox_jobs", "sandbox_runner"]
