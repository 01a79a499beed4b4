"""The asynchronous client, `AsyncSandpod`: client.py's API with `await` (kept line for line
alike; tests/test_async_mirrors_sync.py checks they offer the same methods)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from sandpod_client import _calls as calls
from sandpod_client._core import credentials, settings
from sandpod_client.errors import ConnectionFailedError, StreamEndedError, error_for
from sandpod_client.events import Event, SSEDecoder, StatusEvent, StreamState
from sandpod_client.models import (
    AccessToken,
    ApiKey,
    BatchOutcome,
    CreatedApiKey,
    Execution,
    ExecutionPage,
    ExecutionStatus,
    FileList,
    LimitsRequest,
    Runtime,
    Scope,
    SourceFile,
    Submission,
    User,
)
from sandpod_client.retries import RetryPolicy


class AsyncSandpod:
    """A sandpod API client for asyncio (see `Sandpod` for the arguments).

    Credentials: `api_key` (sent as `Authorization: Bearer <key>`; default: $SANDPOD_API_KEY),
    or `username` and `password` (signs in on the first request, and again when the access
    token expires), or none where the server runs without accounts. `base_url` defaults to
    $SANDPOD_URL, else http://127.0.0.1:8000.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        stream_read_timeout: float = 60.0,
        max_reconnects: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings(
            base_url,
            timeout=timeout,
            retry=retry,
            stream_read_timeout=stream_read_timeout,
            max_reconnects=max_reconnects,
        )
        self._credentials = credentials(api_key, username, password)
        self._http = httpx.AsyncClient(base_url=self._settings.base_url, transport=transport)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests replace it
        self.executions = AsyncExecutions(self)
        self.api_keys = AsyncApiKeys(self)
        self.webhooks = AsyncWebhooks(self)

    # ------------------------------------------------------------ lifecycle
    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSandpod:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------ account
    async def login(self, username: str, password: str) -> AccessToken:
        """Sign in; later requests send the access token."""
        token = AccessToken.model_validate(
            (await self._request(calls.login(username, password))).json()
        )
        self._credentials.token = token.access_token
        return token

    async def me(self) -> User:
        return User.model_validate((await self._request(calls.me())).json())

    async def runtimes(self) -> list[Runtime]:
        return calls.RUNTIMES.validate_python((await self._request(calls.runtimes())).json())

    async def run(
        self,
        script: str | None = None,
        *,
        runtime: str = calls.DEFAULT_RUNTIME,
        stdin: str = "",
        limits: LimitsRequest | Mapping[str, Any] | None = None,
        files: Sequence[SourceFile | Mapping[str, Any]] | None = None,
        entrypoint: str | None = None,
        args: Sequence[str] | None = None,
        compiler_options: Sequence[str] | None = None,
        wait: float = 30.0,
        idempotency_key: str | None = None,
    ) -> Execution:
        """Run a script and return the finished execution.

        The server holds the submit up to `wait` seconds (capped by its own maximum) and answers
        with the finished execution in one round trip when it ends in time; when it does not,
        this follows its event stream to the end.
        """
        execution = await self.executions.submit(
            script,
            runtime=runtime,
            stdin=stdin,
            limits=limits,
            files=files,
            entrypoint=entrypoint,
            args=args,
            compiler_options=compiler_options,
            idempotency_key=idempotency_key,
            wait=wait,
        )
        if execution.finished:
            return execution
        return await self.executions.wait(execution.id)

    # ------------------------------------------------------------ transport
    async def _sign_in(self) -> None:
        username, password = self._credentials.sign_in()
        await self.login(username, password)

    async def _send(self, call: calls.Call, *, stream: bool = False) -> httpx.Response:
        """Send with retries (retries.py) and sign-in; an error answer raises SandpodError."""
        if call.authenticated and self._credentials.token is None and self._credentials.can_sign_in:
            await self._sign_in()
        policy, signed_in_again, attempt = self._settings.retry, False, 0
        while True:
            request = self._settings.request(
                self._http, call, self._credentials.token, stream=stream
            )
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as error:
                if not policy.should_retry_error(attempt, error, safe=call.safe):
                    raise ConnectionFailedError(
                        f"no answer from {self._settings.base_url}: {error!r}"
                    ) from error
                await self._sleep(policy.delay(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            if (
                response.status_code == 401
                and call.authenticated
                and self._credentials.can_sign_in
                and not signed_in_again
            ):
                signed_in_again = True  # the access token expired: sign in once more
                await self._sign_in()
                continue
            if not policy.should_retry(attempt, response.status_code, safe=call.safe):
                raise error_for(response)
            await self._sleep(policy.delay(attempt, response))
            attempt += 1

    async def _request(self, call: calls.Call) -> httpx.Response:
        return await self._send(call)

    @contextlib.asynccontextmanager
    async def _stream(self, call: calls.Call) -> AsyncIterator[httpx.Response]:
        response = await self._send(call, stream=True)
        try:
            yield response
        finally:
            await response.aclose()


class AsyncExecutions:
    def __init__(self, client: AsyncSandpod) -> None:
        self._client = client

    async def submit(
        self,
        script: str | None = None,
        *,
        runtime: str = calls.DEFAULT_RUNTIME,
        stdin: str = "",
        limits: LimitsRequest | Mapping[str, Any] | None = None,
        files: Sequence[SourceFile | Mapping[str, Any]] | None = None,
        entrypoint: str | None = None,
        args: Sequence[str] | None = None,
        compiler_options: Sequence[str] | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
        wait: float = 0.0,
    ) -> Execution:
        """Submit a script. It carries an Idempotency-Key (made up when not given), so the
        client's own retries never run it twice. With `wait`, the server holds the answer up to
        that many seconds for the execution to end."""
        item = calls.submission(
            script,
            runtime=runtime,
            stdin=stdin,
            limits=limits,
            files=files,
            entrypoint=entrypoint,
            args=args,
            compiler_options=compiler_options,
            callback_url=callback_url,
            idempotency_key=idempotency_key,
        )
        response = await self._client._request(calls.submit(item, wait=wait))
        return Execution.model_validate(response.json())

    async def batch(self, items: Sequence[Submission | Mapping[str, Any]]) -> list[BatchOutcome]:
        """Submit several at once; each is accepted or refused on its own (`outcome.problem`)."""
        response = await self._client._request(calls.batch(items))
        return calls.BATCH.validate_python(response.json()["items"])

    async def get(self, execution_id: str) -> Execution:
        response = await self._client._request(calls.get(execution_id))
        return Execution.model_validate(response.json())

    async def list(
        self,
        *,
        status: ExecutionStatus | str | None = None,
        runtime: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 20,
        all_owners: bool = False,
    ) -> ExecutionPage:
        """One page, newest first; pass `page.next_cursor` as `cursor` for the next."""
        call = calls.list_executions(
            status=status,
            runtime=runtime,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            all_owners=all_owners,
        )
        return ExecutionPage.model_validate((await self._client._request(call)).json())

    async def cancel(self, execution_id: str) -> Execution:
        response = await self._client._request(calls.cancel(execution_id))
        return Execution.model_validate(response.json())

    async def retry(self, execution_id: str) -> Execution:
        """Run its script again: a new execution with the same spec."""
        response = await self._client._request(calls.retry(execution_id))
        return Execution.model_validate(response.json())

    async def delete(self, execution_id: str) -> None:
        """Remove a finished execution and its result (409 while it runs)."""
        await self._client._request(calls.delete(execution_id))

    async def files(self, execution_id: str) -> FileList:
        return calls.parse_files(await self._client._request(calls.files(execution_id)))

    async def file(self, execution_id: str, name: str) -> bytes:
        return (await self._client._request(calls.file(execution_id, name))).content

    async def stream(
        self, execution_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[Event]:
        """Its live events: `StatusEvent`s and `OutputEvent`s, ending after the terminal status.

        A dropped connection is reopened with `Last-Event-ID`, so nothing is missed or repeated
        (StreamEndedError after `max_reconnects` tries in a row that bring nothing)."""
        client, state = self._client, StreamState(last_event_id=last_event_id)
        while True:
            try:
                async with client._stream(calls.events(execution_id, state.headers())) as response:
                    decoder = SSEDecoder()
                    async for line in response.aiter_lines():
                        sse = decoder.feed(line)
                        event = state.accept(sse) if sse is not None else None
                        if event is None:
                            continue
                        state.reconnects = 0
                        yield event
                        if state.finished:
                            return
            except (httpx.TransportError, ConnectionFailedError):
                pass  # reopened below, from the last event seen
            if state.reconnects >= client._settings.max_reconnects:
                raise StreamEndedError(
                    f"the event stream of {execution_id} closed before it ended "
                    f"{state.reconnects + 1} times in a row"
                )
            await client._sleep(client._settings.retry.delay(state.reconnects))
            state.reconnects += 1

    async def wait(self, execution_id: str) -> Execution:
        """Follow it to the end and return the finished execution."""
        async for event in self.stream(execution_id):
            if isinstance(event, StatusEvent) and event.terminal:
                break
        return await self.get(execution_id)


class AsyncApiKeys:
    def __init__(self, client: AsyncSandpod) -> None:
        self._client = client

    async def create(self, name: str, scopes: Sequence[Scope | str] | None = None) -> CreatedApiKey:
        """A new key; `.key` is the whole secret, shown only this once."""
        response = await self._client._request(calls.create_api_key(name, scopes))
        return CreatedApiKey.model_validate(response.json())

    async def list(self) -> list[ApiKey]:
        response = await self._client._request(calls.list_api_keys())
        return calls.API_KEYS.validate_python(response.json())

    async def revoke(self, key_id: str) -> ApiKey:
        response = await self._client._request(calls.revoke_api_key(key_id))
        return ApiKey.model_validate(response.json())


class AsyncWebhooks:
    def __init__(self, client: AsyncSandpod) -> None:
        self._client = client

    async def secret(self) -> str:
        """Your webhook signing secret (the server makes it on the first call)."""
        return calls.parse_secret(await self._client._request(calls.webhook_secret()))

    async def rotate_secret(self) -> str:
        """A new secret; deliveries are signed with it from now on."""
        return calls.parse_secret(await self._client._request(calls.rotate_webhook_secret()))
