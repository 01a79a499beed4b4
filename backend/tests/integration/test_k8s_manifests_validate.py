"""Generated objects and deploy/*.yaml validate offline against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors), and deploy/ agrees with the code."""

import inspect
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from sandpod.adapters.kubernetes.api import REQUIRED_PERMISSIONS, ExecutorApi, KubernetesApi, PodApi
from sandpod.adapters.kubernetes.manifests import (
    PodOptions,
    config_map_manifest,
    namespace_labels,
    network_policy_manifest,
    pod_manifest,
    warm_pod_manifest,
)
from sandpod.config import KubernetesSettings
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.runtimes import CATALOGUE
from sandpod.ports import SandboxJob

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NS = "sandpod-executions"
# The oldest Kubernetes we support (k3s in CI is newer) and the newest schema bundled.
VERSIONS = ["1.29", kubernetes_validate.latest_version()]


def validate(obj: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(part) for part in exc.path)
        pytest.fail(f"{obj['kind']} invalid for Kubernetes {version} at {path}: {exc.message}")


def jobs() -> list[SandboxJob]:
    return [
        SandboxJob(
            execution_id=f"ex_2025010100000000000{index}abcdef",
            runtime=runtime,
            script="import sys\nprint(sys.stdin.read())\n",
            stdin="ada\n",
            limits=limits,
        )
        for index, (runtime, limits) in enumerate(
            [(runtime, DEFAULT_POLICY.defaults) for runtime in CATALOGUE]
            + [(CATALOGUE[0], DEFAULT_POLICY.maxima)]
        )
    ]


OPTIONS = [
    PodOptions(),
    PodOptions(
        runtime_class="gvisor", tmp_in_memory=False, image_pull_policy="Never", user_namespace=True
    ),
]


def deploy_documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(DEPLOY.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "gvisor-disk-tmp"])
def test_generated_pods_and_config_maps_validate(version: str, options: PodOptions) -> None:
    for job in jobs():
        pod = pod_manifest(job, namespace=NS, options=options)
        validate(pod, version)
        cm = config_map_manifest(
            job,
            namespace=NS,
            pod_name=pod["metadata"]["name"],
            pod_uid="0c2b6c5e-8a43-4a8c-9d1e-1f0d5a3b7e21",
        )
        validate(cm, version)
        validate(warm_pod_manifest(job, namespace=NS, options=options, idle_seconds=300), version)


@pytest.mark.parametrize("version", VERSIONS)
def test_generated_network_policy_validates(version: str) -> None:
    validate(network_policy_manifest(NS), version)


def test_validation_catches_a_bad_field() -> None:
    # Guard against a validator that accepts everything.
    pod = pod_manifest(jobs()[0], namespace=NS)
    pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesytem"] = True  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_deploy_files_validate(version: str) -> None:
    documents = deploy_documents()
    names = {name for name, _ in documents}
    assert {"namespace.yaml", "rbac.yaml", "networkpolicy.yaml"} <= names
    for _, doc in documents:
        validate(doc, version)


def _kinds(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in deploy_documents() if doc["kind"] == kind]


def test_deploy_network_policy_is_the_one_the_worker_applies() -> None:
    (policy,) = _kinds("NetworkPolicy")
    assert policy == network_policy_manifest(NS)


def test_deploy_namespace_enforces_restricted_and_is_the_default_setting() -> None:
    namespaces = {doc["metadata"]["name"]: doc for doc in _kinds("Namespace")}
    default_namespace = KubernetesSettings.model_fields["namespace"].default
    assert default_namespace == NS
    labels = namespaces[NS]["metadata"]["labels"]
    assert namespace_labels().items() <= labels.items()


def _granted() -> set[tuple[str, str, str]]:
    granted = set()
    for doc in _kinds("Role") + _kinds("ClusterRole"):
        for rule in doc["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        assert verb != "*"
                        assert resource != "*"
                        assert group != "*"
                        granted.add((group, resource, verb))
    return granted


def test_rbac_grants_exactly_what_the_code_calls() -> None:
    assert set(REQUIRED_PERMISSIONS.values()) == _granted()


def test_every_api_method_declares_its_permission() -> None:
    methods = {
        name
        for name, _ in inspect.getmembers(KubernetesApi, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }
    protocol_members = {
        name for proto in (PodApi, ExecutorApi) for name in vars(proto) if not name.startswith("_")
    }
    assert methods == set(REQUIRED_PERMISSIONS) == protocol_members


def test_rbac_binds_the_runner_outside_the_executions_namespace() -> None:
    (account,) = _kinds("ServiceAccount")
    assert account["metadata"] == account["metadata"] | {"name": "sandpod-runner"}
    assert account["metadata"]["namespace"] != NS  # its token never lives next to untrusted pods
    for binding in _kinds("RoleBinding") + _kinds("ClusterRoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "sandpod-runner", "namespace": "sandpod-system"}
        ]
    (role,) = _kinds("Role")
    assert role["metadata"]["namespace"] == NS
    (cluster_role,) = _kinds("ClusterRole")
    assert all(rule["resourceNames"] == [NS] for rule in cluster_role["rules"])
