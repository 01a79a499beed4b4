"""Where the Kubernetes credentials come from: the pod's service account, or KUBECONFIG."""

import os
from dataclasses import dataclass
from pathlib import Path

from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.config import load_incluster_config, new_client_from_config

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class KubernetesConfigError(RuntimeError):
    """No usable cluster configuration."""


@dataclass(frozen=True)
class KubeConfigSource:
    in_cluster: bool
    kubeconfig: str | None = None  # KUBECONFIG's value (may list several files)

    def describe(self) -> str:
        return "in-cluster service account" if self.in_cluster else f"kubeconfig {self.kubeconfig}"


def find_kube_config(environ: dict[str, str] | None = None) -> KubeConfigSource:
    """In-cluster when running in a pod with a token, else KUBECONFIG or ~/.kube/config."""
    env = dict(os.environ) if environ is None else environ
    if env.get("KUBERNETES_SERVICE_HOST") and SERVICE_ACCOUNT_TOKEN.exists():
        return KubeConfigSource(in_cluster=True)
    paths = env.get("KUBECONFIG") or str(Path(env.get("HOME", "~")).expanduser() / ".kube/config")
    existing = [path for path in paths.split(os.pathsep) if path and Path(path).is_file()]
    if existing:
        return KubeConfigSource(in_cluster=False, kubeconfig=os.pathsep.join(existing))
    raise KubernetesConfigError(
        "no Kubernetes configuration: run inside a cluster with a service account, or set"
        " KUBECONFIG to a kubeconfig file (the cert-generator writes one for the sandpod-runner"
        f" service account); looked for {paths!r}"
    )


async def new_api_client(source: KubeConfigSource) -> ApiClient:
    if source.in_cluster:
        configuration = Configuration()
        load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]  # untyped upstream
        return ApiClient(configuration)
    # persist_config=False: never rewrite the operator's kubeconfig (token refreshes stay in memory)
    client: ApiClient = await new_client_from_config(
        config_file=source.kubeconfig, persist_config=False
    )
    return client
