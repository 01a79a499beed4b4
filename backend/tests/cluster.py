"""A real Kubernetes cluster for tests: a throwaway namespace and a launcher in it.

`make test` starts the local cluster (`make cluster-images`) and points KUBECONFIG at it; without a
reachable cluster the tests that use these fixtures skip, and under CI they fail.
"""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from sandpod.adapters.kubernetes.api import KubernetesApi
from sandpod.adapters.kubernetes.client import (
    KubernetesConfigError,
    find_kube_config,
    new_api_client,
)
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.adapters.kubernetes.manifests import PodOptions, namespace_labels
from sandpod.config import Settings
from sandpod.domain.limits import DEFAULT_POLICY, LimitPolicy
from tests.environment import unavailable


@dataclass
class Cluster:
    api: KubernetesApi
    launcher: KubernetesLauncher
    core: k8s.CoreV1Api
    client: k8s.ApiClient


def warm_launcher(
    cluster: Cluster, policy: LimitPolicy | None = None, *, size: int = 1, idle_seconds: int = 300
) -> KubernetesLauncher:
    """A launcher in the cluster's namespace with a warm pool for Python 3.12 (prepare() starts
    it, close() deletes its idle pods)."""

    async def connect() -> KubernetesApi:  # its own client: close() closes it
        return KubernetesApi(await new_api_client(find_kube_config()), cluster.api.namespace)

    return KubernetesLauncher(
        connect,
        namespace=cluster.api.namespace,
        options=cluster.launcher.options,
        warm_pool_size=size,
        warm_pool_runtimes=["python:3.12"],
        warm_idle_seconds=idle_seconds,
        limit_policy=policy or DEFAULT_POLICY,
    )


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    try:
        source = find_kube_config()
    except KubernetesConfigError as exc:
        unavailable(f"no Kubernetes cluster configured ({exc}): run `make cluster-images`")
    client = await new_api_client(source)
    try:
        await asyncio.wait_for(k8s.VersionApi(client).get_code(), timeout=10)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        await client.close()
        unavailable(f"Kubernetes API ({source.describe()}) unreachable ({exc}): `make cluster-up`")
    core = k8s.CoreV1Api(client)
    namespace = f"sandpod-e2e-{secrets.token_hex(4)}"
    try:
        metadata = k8s.V1ObjectMeta(name=namespace, labels=namespace_labels())
        await core.create_namespace(k8s.V1Namespace(metadata=metadata))
        owned = True
    except ApiException as exc:
        if exc.status != 403:
            raise
        namespace, owned = Settings().kubernetes.namespace, False
    api = KubernetesApi(client, namespace)

    async def connect() -> KubernetesApi:
        return api

    launcher = KubernetesLauncher(
        connect, namespace=namespace, options=PodOptions(image_pull_policy="IfNotPresent")
    )
    await launcher.prepare()
    try:
        yield Cluster(api, launcher, core, client)
    finally:
        if owned:
            with contextlib.suppress(ApiException):
                await core.delete_namespace(namespace)
        await client.close()
