"""Kubernetes runner: one hardened pod per execution, and the monitor that reports how each ended.

Entry points for the composition root:

- `build_kubernetes_launcher(settings)`: the Sandbox (one pod per execution); call
  `await launcher.prepare()` once at runner-worker start (namespace labels + deny-all
  NetworkPolicy) and `await launcher.close()`.
- `run_pod_monitor(settings, publish, stop, report_start)`: the `sandpod worker pod-monitor` loop.
"""

import asyncio
from collections.abc import Awaitable, Callable

from sandpod.adapters.kubernetes.api import KubernetesApi
from sandpod.adapters.kubernetes.client import (
    KubeConfigSource,
    KubernetesConfigError,
    find_kube_config,
    new_api_client,
)
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher, KubernetesSetupError
from sandpod.adapters.kubernetes.manifests import PodOptions, UnsafeNamespaceError, check_namespace
from sandpod.adapters.kubernetes.monitor import PodMonitor
from sandpod.config import Settings
from sandpod.domain.events import ExecutionFinished, ExecutionStarted

__all__ = [
    "KubernetesConfigError",
    "KubernetesLauncher",
    "KubernetesSetupError",
    "PodMonitor",
    "UnsafeNamespaceError",
    "build_kubernetes_launcher",
    "run_pod_monitor",
]


async def _connect(source: KubeConfigSource, namespace: str) -> KubernetesApi:
    return KubernetesApi(await new_api_client(source), namespace)


def build_kubernetes_launcher(settings: Settings) -> KubernetesLauncher:
    """Fails at once on the 'default' namespace or when no kubeconfig can be found."""
    namespace = settings.kubernetes.namespace
    check_namespace(namespace)
    source = find_kube_config()
    return KubernetesLauncher(
        lambda: _connect(source, namespace),
        namespace=namespace,
        options=PodOptions(
            runtime_class=settings.kubernetes.runtime_class,
            user_namespace=settings.kubernetes.user_namespace,
        ),
        max_pod_pids=settings.kubernetes.max_pod_pids,
        warm_pool_size=settings.kubernetes.warm_pool_size,
        warm_pool_runtimes=settings.kubernetes.warm_pool_runtimes,
        warm_idle_seconds=settings.kubernetes.warm_pool_idle_seconds,
        limit_policy=settings.executions.limit_policy,
    )


async def run_pod_monitor(
    settings: Settings,
    publish: Callable[[ExecutionFinished], Awaitable[None]],
    stop: asyncio.Event,
    report_start: Callable[[ExecutionStarted], Awaitable[None]],
) -> None:
    """Watch executor pods until `stop` is set: publish one ExecutionStarted when a pod's
    container runs (with its start time) and one ExecutionFinished when it ends."""
    namespace = settings.kubernetes.namespace
    check_namespace(namespace)
    api = await _connect(find_kube_config(), namespace)
    try:
        await PodMonitor(api, publish, report_start=report_start).run(stop)
    finally:
        await api.close()
