"""Pure functions that build the Kubernetes objects for one execution (plain dicts, camelCase).

One execution is a Pod plus a ConfigMap holding the script and stdin. The launcher creates the Pod
first and then the ConfigMap with an ownerReference to the Pod's uid, so Kubernetes deletes the
ConfigMap with the Pod; the Pod waits in ContainerCreating until its ConfigMap volume exists.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from sandpod.domain.limits import CONFIG_MAP_MAX_BYTES, MIB, Limits
from sandpod.ports import SandboxJob

Manifest = dict[str, Any]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "sandpod"
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "executor"
EXECUTION_ID_LABEL = "sandpod.io/execution-id"
RUNTIME_LABEL = "sandpod.io/runtime"
EXECUTION_ID_ANNOTATION = "sandpod.io/execution-id"  # the exact id (labels have a narrower charset)
LIMITS_ANNOTATION = "sandpod.io/limits"
CANCELLED_ANNOTATION = "sandpod.io/cancelled"
EXECUTOR_LABELS = {MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: COMPONENT}
EXECUTOR_SELECTOR = ",".join(f"{key}={value}" for key, value in EXECUTOR_LABELS.items())
# Isolation canaries run as ordinary executor pods (same policy, same admission) with this label;
# the pod monitor leaves them to the runner that started them.
CANARY_LABEL = "sandpod.io/canary"
MONITOR_SELECTOR = f"{EXECUTOR_SELECTOR},!{CANARY_LABEL}"

CONTAINER_NAME = "sandbox"
SANDBOX_DIR = "/sandbox"  # the ConfigMap, read-only
# The pod's own emptyDir, not a host path.
# A mount point inside the pod, not a host temp file (hence S108/B108 do not apply).
TMP_DIR = "/tmp"  # noqa: S108  # nosec B108
STDIN_KEY = "stdin"
ENTRYPOINT_PATH = "/opt/sandpod/entrypoint.py"  # copied in by runtimes/python/Dockerfile
NOBODY = 65534
NETWORK_POLICY_NAME = "sandpod-executors-deny-all"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


# Numeric libraries start one thread per core; under a process limit that breaks them.
THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
}

# The script's whole environment (the entrypoint adds the image's PATH). It travels as entrypoint
# arguments, not as container variables, because the kubelet adds the `kubernetes` service's
# variables to every container whatever enableServiceLinks says.
SCRIPT_ENV = {
    "HOME": TMP_DIR,
    "TMPDIR": TMP_DIR,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    **THREAD_ENV,
}

POD_SECURITY_LABELS = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "audit", "warn")
    for suffix, value in (("", "restricted"), ("-version", "latest"))
}

_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


class UnsafeNamespaceError(ValueError):
    """The configured namespace is shared with other workloads."""


class ConfigMapTooLargeError(ValueError):
    def __init__(self, size: int) -> None:
        super().__init__(
            f"script and stdin take {size} bytes; a Kubernetes ConfigMap holds at most"
            f" {CONFIG_MAP_MAX_BYTES} bytes"
        )
        self.size = size


@dataclass(frozen=True)
class PodOptions:
    """Cluster-side choices that are not part of an execution's limits."""

    runtime_class: str | None = None  # gVisor ("gvisor"/"runsc") or Kata, when the cluster has it
    image_pull_policy: str = "IfNotPresent"  # runtime images are built locally, not pulled
    cpu_limit: str = "1"
    cpu_request: str = "250m"
    tmp_in_memory: bool = True  # tmpfs: sizeLimit is a hard cap (disk emptyDirs are only evicted)
    # Backstop only: the entrypoint enforces the wall limit itself (and returns partial output);
    # the pod deadline also counts image pull and container start, hence the grace.
    deadline_grace_seconds: int = 10
    entrypoint_memory_mib: int = 16  # the entrypoint's own interpreter


def resource_name(execution_id: str) -> str:
    """Deterministic DNS-1123 name for the Pod and ConfigMap (so a second launch hits 409)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", execution_id.lower()).strip("-")[:40].rstrip("-")
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:10]
    return f"sandpod-{slug}-{digest}" if slug else f"sandpod-{digest}"


def execution_label_value(execution_id: str) -> str:
    """The id itself when it is a valid label value (ours are), else a stable hash of it."""
    if execution_id and _LABEL_VALUE.match(execution_id) and len(execution_id) <= 63:
        return execution_id
    return "sha256-" + hashlib.sha256(execution_id.encode()).hexdigest()[:48]


def active_deadline_seconds(limits: Limits, options: PodOptions) -> int:
    return math.ceil(limits.wall_seconds) + options.deadline_grace_seconds


def memory_limit_mib(limits: Limits, options: PodOptions) -> int:
    # The script gets memory_mb; the entrypoint's interpreter and its capture buffers (up to
    # output_bytes per stream) are added on top so they never eat into the script's budget.
    return (
        limits.memory_mb + options.entrypoint_memory_mib + math.ceil(2 * limits.output_bytes / MIB)
    )


def ephemeral_storage_mib(limits: Limits, options: PodOptions) -> int:
    # Container logs count as ephemeral storage: the framed report is base64 of at most two
    # captures (zlib may grow incompressible data slightly), plus headroom.
    log_mib = math.ceil(3 * limits.output_bytes / MIB) + 16
    return log_mib + (0 if options.tmp_in_memory else limits.tmp_mb)


def config_map_data(job: SandboxJob) -> dict[str, str]:
    data = {job.runtime.file_name: job.script, STDIN_KEY: job.stdin}
    size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
    if size > CONFIG_MAP_MAX_BYTES:
        raise ConfigMapTooLargeError(size)
    return data


def entrypoint_command(job: SandboxJob) -> list[str]:
    runtime, limits = job.runtime, job.limits
    script_path = f"{SANDBOX_DIR}/{runtime.file_name}"
    interpreter = runtime.command[0] if runtime.language == "python" else "python3"
    return [
        interpreter,
        "-I",  # isolated: ignore PYTHON* variables and the user site
        "-S",  # the entrypoint needs nothing from site-packages
        ENTRYPOINT_PATH,
        "--wall-seconds",
        f"{limits.wall_seconds:g}",
        "--cpu-seconds",
        f"{limits.cpu_seconds:g}",
        "--output-bytes",
        str(limits.output_bytes),
        "--file-size-bytes",
        str(limits.file_size_mb * MIB),
        "--stdin",
        f"{SANDBOX_DIR}/{STDIN_KEY}",
        "--termination-log",
        "/dev/termination-log",
        "--cgroup-accounting",
        *(f"--env={name}={value}" for name, value in SCRIPT_ENV.items()),
        "--",
        *(part.replace("{file}", script_path) for part in runtime.command),
    ]


def _labels(job: SandboxJob, *, canary: bool = False) -> dict[str, str]:
    return {
        **EXECUTOR_LABELS,
        EXECUTION_ID_LABEL: execution_label_value(job.execution_id),
        RUNTIME_LABEL: execution_label_value(job.runtime.id.replace(":", "-")),
        **({CANARY_LABEL: "true"} if canary else {}),
    }


def _security_context() -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": NOBODY,
        "runAsGroup": NOBODY,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_manifest(
    job: SandboxJob, *, namespace: str, options: PodOptions | None = None, canary: bool = False
) -> Manifest:
    options = options or PodOptions()
    limits, name = job.limits, resource_name(job.execution_id)
    memory = f"{memory_limit_mib(limits, options)}Mi"
    tmp_volume: Manifest = {"sizeLimit": f"{limits.tmp_mb}Mi"}
    if options.tmp_in_memory:
        tmp_volume["medium"] = "Memory"
    spec: Manifest = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": active_deadline_seconds(limits, options),
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "shareProcessNamespace": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NOBODY,
            "runAsGroup": NOBODY,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": CONTAINER_NAME,
                "image": job.runtime.image,
                "imagePullPolicy": options.image_pull_policy,
                "command": entrypoint_command(job),
                "workingDir": TMP_DIR,
                "resources": {
                    "requests": {"cpu": options.cpu_request, "memory": memory},
                    "limits": {
                        "cpu": options.cpu_limit,
                        "memory": memory,
                        "ephemeral-storage": f"{ephemeral_storage_mib(limits, options)}Mi",
                    },
                },
                "securityContext": _security_context(),
                "volumeMounts": [
                    {"name": "sandbox", "mountPath": SANDBOX_DIR, "readOnly": True},
                    {"name": "tmp", "mountPath": TMP_DIR},
                ],
                # "File", never FallbackToLogsOnError: the log tail is not the summary's source.
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "stdin": False,
                "tty": False,
            }
        ],
        "volumes": [
            {
                "name": "sandbox",
                "configMap": {
                    "name": name,
                    "defaultMode": 0o444,
                    "optional": False,
                    "items": [
                        {"key": job.runtime.file_name, "path": job.runtime.file_name},
                        {"key": STDIN_KEY, "path": STDIN_KEY},
                    ],
                },
            },
            {"name": "tmp", "emptyDir": tmp_volume},
        ],
    }
    if options.runtime_class:
        spec["runtimeClassName"] = options.runtime_class
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _labels(job, canary=canary),
            "annotations": {
                EXECUTION_ID_ANNOTATION: job.execution_id,
                LIMITS_ANNOTATION: json.dumps(limits.model_dump(mode="json"), sort_keys=True),
            },
        },
        "spec": spec,
    }


def config_map_manifest(
    job: SandboxJob, *, namespace: str, pod_name: str, pod_uid: str
) -> Manifest:
    """The script and stdin, owned by the Pod (garbage-collected with it), immutable."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": pod_name,
            "namespace": namespace,
            "labels": _labels(job),
            "annotations": {EXECUTION_ID_ANNOTATION: job.execution_id},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}
            ],
        },
        "immutable": True,
        "data": config_map_data(job),
    }


def network_policy_manifest(namespace: str) -> Manifest:
    """Deny all ingress and egress for executor pods: both policy types, no rules."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": NETWORK_POLICY_NAME,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY},
        },
        "spec": {
            "podSelector": {"matchLabels": dict(EXECUTOR_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        },
    }


def namespace_labels() -> dict[str, str]:
    """Pod Security Admission "restricted" for enforce, audit and warn."""
    return dict(POD_SECURITY_LABELS)


def check_namespace(namespace: str) -> None:
    """Refuse namespaces shared with other workloads: executor pods get a namespace of their own."""
    if namespace in PROTECTED_NAMESPACES:
        raise UnsafeNamespaceError(
            f"refusing to run executor pods in the {namespace!r} namespace: set"
            " SANDPOD_KUBERNETES_NAMESPACE to a dedicated namespace (deploy/namespace.yaml"
            " creates 'sandpod-executions')"
        )
