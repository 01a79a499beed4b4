"""The slice of the Kubernetes API sandpod uses, behind two small Protocols.

The monitor and the launcher depend on PodApi/ExecutorApi only, so unit tests feed them recorded
event sequences; KubernetesApi implements both with kubernetes_asyncio. Every call reads raw JSON
(`_preload_content=False`): objects stay plain camelCase dicts, exactly as recorded from a cluster.
"""

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from sandpod.adapters.kubernetes.manifests import CONTAINER_NAME, Manifest

Pod = dict[str, Any]
# The attach stream's channels (the first byte of each websocket message, channel.k8s.io).
STDIN_CHANNEL, STDOUT_CHANNEL = 0, 1


class KubeApiError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Kubernetes API error {status or 'connection'}: {message}")
        self.status = status


class NotFoundError(KubeApiError):
    pass


class AlreadyExistsError(KubeApiError):
    pass


class ResourceExpiredError(KubeApiError):
    """410 Gone: the resourceVersion is too old to watch from; list again."""


def api_error(status: int | None, message: str) -> KubeApiError:
    kind = {404: NotFoundError, 409: AlreadyExistsError, 410: ResourceExpiredError}
    return kind.get(status or 0, KubeApiError)(status, message)


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    pod: Pod
    resource_version: str | None


@dataclass(frozen=True)
class PodListing:
    pods: list[Pod]
    resource_version: str


class PodApi(Protocol):
    """What the pod monitor needs (pods in one namespace)."""

    async def list_pods(self, label_selector: str) -> PodListing: ...

    def watch_pods(self, label_selector: str, resource_version: str) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version`; raises ResourceExpiredError when it is too old."""
        ...

    async def read_log(self, name: str, *, tail_lines: int) -> bytes: ...

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        """Delete (404 is fine); with `uid`, only that incarnation of the name."""
        ...


class ExecutorApi(Protocol):
    """What the launcher needs."""

    async def create_pod(self, body: Manifest) -> Pod: ...

    async def read_pod(self, name: str) -> Pod | None: ...

    def follow_log(self, name: str, *, timeout_seconds: float) -> AsyncGenerator[bytes, None]:
        """The container's log lines as they are written, until the container ends; a 400 while
        it has not started yet, NotFoundError once the pod is gone."""
        ...

    async def create_config_map(self, body: Manifest) -> None: ...

    async def annotate_pod(self, name: str, annotations: dict[str, str]) -> bool:
        """False when the pod does not exist."""
        ...

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None: ...

    async def claim_pod(self, name: str, patch: list[Manifest]) -> Pod | None:
        """Apply a JSON patch whose test op decides the claim: the pod, or None when the test
        failed (claimed by someone else) or the pod is gone."""
        ...

    def attach(
        self, name: str, payload: bytes, *, timeout_seconds: float
    ) -> AsyncGenerator[bytes, None]:
        """Write `payload` to the container's stdin, then yield its stdout lines until it ends."""
        ...

    async def read_network_policy(self, name: str) -> Manifest | None: ...

    async def create_network_policy(self, body: Manifest) -> None: ...

    async def replace_network_policy_spec(self, name: str, spec: Manifest) -> None: ...

    async def read_namespace(self) -> Manifest | None: ...

    async def label_namespace(self, labels: dict[str, str]) -> None: ...


# (apiGroup, resource, verb) each KubernetesApi method needs: deploy/rbac.yaml must grant exactly
# these (tests/integration/test_k8s_manifests_validate.py checks both directions).
REQUIRED_PERMISSIONS: dict[str, tuple[str, str, str]] = {
    "list_pods": ("", "pods", "list"),
    "watch_pods": ("", "pods", "watch"),
    "read_log": ("", "pods/log", "get"),
    "follow_log": ("", "pods/log", "get"),
    "delete_pod": ("", "pods", "delete"),
    "create_pod": ("", "pods", "create"),
    "read_pod": ("", "pods", "get"),
    "annotate_pod": ("", "pods", "patch"),
    "claim_pod": ("", "pods", "patch"),
    "attach": ("", "pods/attach", "create"),
    "create_config_map": ("", "configmaps", "create"),
    "read_network_policy": ("networking.k8s.io", "networkpolicies", "get"),
    "create_network_policy": ("networking.k8s.io", "networkpolicies", "create"),
    "replace_network_policy_spec": ("networking.k8s.io", "networkpolicies", "patch"),
    "read_namespace": ("", "namespaces", "get"),
    "label_namespace": ("", "namespaces", "patch"),
}


def _message(body: object, fallback: str) -> str:
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        status = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return fallback


class KubernetesApi:
    """PodApi and ExecutorApi over kubernetes_asyncio, for one namespace."""

    def __init__(
        self, api_client: k8s.ApiClient, namespace: str, *, watch_timeout_seconds: int = 300
    ) -> None:
        self._client = api_client
        # Any: with _preload_content=False the generated methods return the raw aiohttp response
        # (not the models their annotations promise) and accept plain dict bodies.
        self._core: Any = k8s.CoreV1Api(api_client)
        self._net: Any = k8s.NetworkingV1Api(api_client)
        self.namespace = namespace
        self._watch_timeout = watch_timeout_seconds
        self._ws: WsApiClient | None = None  # made on the first attach

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self._client.close()

    async def _raw(self, call: Awaitable[Any]) -> bytes:
        """Await an `_preload_content=False` call; map failures to KubeApiError."""
        try:
            response = await call
            async with response:
                body: bytes = await response.read()
                if response.status >= 400:
                    raise api_error(response.status, _message(body, str(response.reason)))
                return body
        except ApiException as exc:
            raise api_error(exc.status, _message(exc.body, str(exc.reason))) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(None, f"{type(exc).__name__}: {exc}") from exc

    async def _json(self, call: Awaitable[Any]) -> Manifest:
        data = json.loads(await self._raw(call))
        if not isinstance(data, dict):
            raise KubeApiError(None, "the API server answered with something other than an object")
        return data

    # ---------------------------------------------------------------- PodApi
    async def list_pods(self, label_selector: str) -> PodListing:
        pods: list[Pod] = []
        token: str | None = None
        resource_version = ""
        while True:  # paginated; the first page's resourceVersion is the snapshot's
            kwargs: dict[str, Any] = {"label_selector": label_selector, "limit": 500}
            if token:
                kwargs["_continue"] = token
            page = await self._json(
                self._core.list_namespaced_pod(self.namespace, _preload_content=False, **kwargs)
            )
            metadata = page.get("metadata") or {}
            resource_version = resource_version or str(metadata.get("resourceVersion", ""))
            pods.extend(page.get("items") or [])
            token = metadata.get("continue")
            if not token:
                return PodListing(pods, resource_version)

    async def watch_pods(
        self, label_selector: str, resource_version: str
    ) -> AsyncIterator[WatchEvent]:
        try:
            response = await self._core.list_namespaced_pod(
                self.namespace,
                label_selector=label_selector,
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=self._watch_timeout,
                _preload_content=False,
                # the server ends the watch after timeout_seconds; a silent socket is dead
                _request_timeout=(10, self._watch_timeout + 30),
            )
            async with response:
                if response.status >= 400:
                    body = await response.read()
                    raise api_error(response.status, _message(body, str(response.reason)))
                async for line in response.content:
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError as exc:
                        raise KubeApiError(None, f"malformed watch event: {exc}") from exc
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":  # e.g. 410 Gone: older than the watch cache still holds
                        raise api_error(obj.get("code"), str(obj.get("message", "watch error")))
                    version = (obj.get("metadata") or {}).get("resourceVersion")
                    yield WatchEvent(str(kind), obj, version)
        except ApiException as exc:
            raise api_error(exc.status, _message(exc.body, str(exc.reason))) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(None, f"{type(exc).__name__}: {exc}") from exc

    async def read_log(self, name: str, *, tail_lines: int) -> bytes:
        return await self._raw(
            self._core.read_namespaced_pod_log(
                name,
                self.namespace,
                container=CONTAINER_NAME,
                tail_lines=tail_lines,
                _preload_content=False,
            )
        )

    async def follow_log(self, name: str, *, timeout_seconds: float) -> AsyncGenerator[bytes, None]:
        try:
            response = await self._core.read_namespaced_pod_log(
                name,
                self.namespace,
                container=CONTAINER_NAME,
                follow=True,
                _preload_content=False,
                _request_timeout=(10, timeout_seconds),
            )
            async with response:
                if response.status >= 400:
                    body = await response.read()
                    raise api_error(response.status, _message(body, str(response.reason)))
                async for line in response.content:
                    yield line
        except ApiException as exc:
            raise api_error(exc.status, _message(exc.body, str(exc.reason))) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(None, f"{type(exc).__name__}: {exc}") from exc

    async def delete_pod(self, name: str, *, uid: str | None = None) -> None:
        body: Manifest = {"gracePeriodSeconds": 0}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            await self._raw(
                self._core.delete_namespaced_pod(
                    name, self.namespace, body=body, _preload_content=False
                )
            )
        except NotFoundError:
            return
        except AlreadyExistsError:  # 409: uid precondition failed, a newer pod owns the name
            return

    # ---------------------------------------------------------------- ExecutorApi
    async def create_pod(self, body: Manifest) -> Pod:
        return await self._json(
            self._core.create_namespaced_pod(self.namespace, body, _preload_content=False)
        )

    async def read_pod(self, name: str) -> Pod | None:
        try:
            return await self._json(
                self._core.read_namespaced_pod(name, self.namespace, _preload_content=False)
            )
        except NotFoundError:
            return None

    async def create_config_map(self, body: Manifest) -> None:
        await self._raw(
            self._core.create_namespaced_config_map(self.namespace, body, _preload_content=False)
        )

    async def annotate_pod(self, name: str, annotations: dict[str, str]) -> bool:
        try:
            await self._raw(
                self._core.patch_namespaced_pod(
                    name,
                    self.namespace,
                    {"metadata": {"annotations": annotations}},
                    _preload_content=False,
                )
            )
        except NotFoundError:
            return False
        return True

    async def claim_pod(self, name: str, patch: list[Manifest]) -> Pod | None:
        try:
            return await self._json(
                self._core.patch_namespaced_pod(name, self.namespace, patch, _preload_content=False)
            )
        except NotFoundError:
            return None
        except KubeApiError as exc:
            if exc.status == 422:  # the test op failed: no longer idle
                return None
            raise

    async def attach(
        self, name: str, payload: bytes, *, timeout_seconds: float
    ) -> AsyncGenerator[bytes, None]:
        if self._ws is None:
            self._ws = WsApiClient(configuration=self._client.configuration)
        ws_core: Any = k8s.CoreV1Api(self._ws)
        pending = b""
        try:
            async with asyncio.timeout(timeout_seconds):
                connecting = await ws_core.connect_get_namespaced_pod_attach(
                    name,
                    self.namespace,
                    container=CONTAINER_NAME,
                    stdin=True,
                    stdout=True,
                    stderr=False,
                    tty=False,
                    _preload_content=False,
                )
                async with connecting as ws:
                    await ws.send_bytes(bytes([STDIN_CHANNEL]) + payload)
                    async for message in ws:
                        if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                            break
                        data = (
                            message.data
                            if isinstance(message.data, bytes)
                            else message.data.encode()
                        )
                        if not data or data[0] != STDOUT_CHANNEL:
                            continue  # the error channel: the stream is ending
                        pending += data[1:]
                        *lines, pending = pending.split(b"\n")
                        for line in lines:
                            yield line + b"\n"
        except aiohttp.WSServerHandshakeError as exc:
            raise api_error(exc.status, f"attach to {name}: {exc.message}") from exc
        except ApiException as exc:
            raise api_error(exc.status, _message(exc.body, str(exc.reason))) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(None, f"attach to {name}: {type(exc).__name__}: {exc}") from exc
        if pending:
            yield pending

    async def read_network_policy(self, name: str) -> Manifest | None:
        try:
            return await self._json(
                self._net.read_namespaced_network_policy(
                    name, self.namespace, _preload_content=False
                )
            )
        except NotFoundError:
            return None

    async def create_network_policy(self, body: Manifest) -> None:
        await self._raw(
            self._net.create_namespaced_network_policy(self.namespace, body, _preload_content=False)
        )

    async def replace_network_policy_spec(self, name: str, spec: Manifest) -> None:
        # A JSON patch (list body) replaces the whole spec: no stale rule survives a merge.
        await self._raw(
            self._net.patch_namespaced_network_policy(
                name,
                self.namespace,
                [{"op": "replace", "path": "/spec", "value": spec}],
                _preload_content=False,
            )
        )

    async def read_namespace(self) -> Manifest | None:
        try:
            return await self._json(
                self._core.read_namespace(self.namespace, _preload_content=False)
            )
        except NotFoundError:
            return None

    async def label_namespace(self, labels: dict[str, str]) -> None:
        await self._raw(
            self._core.patch_namespace(
                self.namespace, {"metadata": {"labels": labels}}, _preload_content=False
            )
        )
