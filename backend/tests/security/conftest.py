from tests.security.sandbox_fixtures import sandbox_host, sandbox_jobs, sandbox_runner

__all__ = ["sandbox_host", "sandbox_jobs", "sandbox_runner"]
