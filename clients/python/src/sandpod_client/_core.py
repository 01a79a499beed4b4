"""What the sync and async clients share: settings, credentials and request building."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

from sandpod_client._calls import Call
from sandpod_client.retries import RetryPolicy

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "sandpod-client-python/0.1.0"


@dataclass(frozen=True)
class Settings:
    base_url: str
    timeout: float
    retry: RetryPolicy
    # The server sends a heartbeat comment every 15 s by default: a stream silent for longer than
    # this is taken as dead and reopened from the last event.
    stream_read_timeout: float
    max_reconnects: int

    def request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        call: Call,
        token: str | None,
        *,
        stream: bool = False,
    ) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, **call.headers}
        if call.authenticated and token:
            headers["Authorization"] = f"Bearer {token}"
        read = self.stream_read_timeout if stream else self.timeout + call.held
        timeout = httpx.Timeout(self.timeout, read=read)
        return http.build_request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            headers=headers,
            timeout=timeout,
        )


@dataclass
class Credentials:
    """An API key (or access token) used as is, or a username and password that sign in on the
    first request and again when the access token expires."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def can_sign_in(self) -> bool:
        return self.username is not None and self.password is not None

    def sign_in(self) -> tuple[str, str]:
        if self.username is None or self.password is None:
            raise ValueError("no username and password to sign in with")
        return self.username, self.password


def settings(
    base_url: str | None,
    *,
    timeout: float,
    retry: RetryPolicy | None,
    stream_read_timeout: float,
    max_reconnects: int,
) -> Settings:
    url = base_url or os.environ.get("SANDPOD_URL") or DEFAULT_URL
    return Settings(
        base_url=url.rstrip("/"),
        timeout=timeout,
        retry=retry or RetryPolicy(),
        stream_read_timeout=stream_read_timeout,
        max_reconnects=max_reconnects,
    )


def credentials(api_key: str | None, username: str | None, password: str | None) -> Credentials:
    if api_key is not None and username is not None:
        raise ValueError("give an api_key or a username and password, not both")
    if (username is None) != (password is None):
        raise ValueError("a username needs its password (and a password its username)")
    if api_key is None and username is None:
        api_key = os.environ.get("SANDPOD_API_KEY") or None
    return Credentials(token=api_key, username=username, password=password)
