"""Pure functions that build the Kubernetes objects for one execution (plain dicts, camelCase).

One execution is a Pod plus a ConfigMap holding the program's files (or its one script) and stdin;
the ConfigMap's items put each file at its own path under /sandbox. The launcher creates the Pod
first and then the ConfigMap with an ownerReference to the Pod's uid, so Kubernetes deletes the
ConfigMap with the Pod; the Pod waits in ContainerCreating until its ConfigMap volume exists.
"""

import base64
import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandpod.adapters.sandbox.commands import BUILD_DIR, compile_limits, expand
from sandpod.adapters.sandbox.toolchains import Toolchain
from sandpod.domain.files import OUTPUT_DIR
from sandpod.domain.limits import CONFIG_MAP_MAX_BYTES, MIB, Limits
from sandpod.domain.runtimes import Runtime
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
OUTPUT_FILES_ANNOTATION = "sandpod.io/output-files"
CANCELLED_ANNOTATION = "sandpod.io/cancelled"
EXECUTOR_LABELS = {MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: COMPONENT}
EXECUTOR_SELECTOR = ",".join(f"{key}={value}" for key, value in EXECUTOR_LABELS.items())
# Isolation canaries run as ordinary executor pods (same policy, same admission) with this label;
# the pod monitor leaves them to the runner that started them.
CANARY_LABEL = "sandpod.io/canary"
# A warm pod waiting for its job carries this label (value "idle"); a claim removes it, and the
# pod is from then on an ordinary executor pod to the monitor (see warm.py).
WARM_LABEL = "sandpod.io/warm"
WARM_IDLE = "idle"
WARM_CLAIMED = "claimed"  # its runner is sending the job; not yet the monitor's
WARM_SELECTOR = f"{EXECUTOR_SELECTOR},{WARM_LABEL}"  # idle or claimed
MONITOR_SELECTOR = f"{EXECUTOR_SELECTOR},!{CANARY_LABEL},!{WARM_LABEL}"
# Set on a claimed warm pod whose result the runner read from the attached stream (or that it
# gave up before sending the job): the monitor neither reports nor mourns it.
HANDLED_ANNOTATION = "sandpod.io/handled-by-runner"

CONTAINER_NAME = "sandbox"
SANDBOX_DIR = "/sandbox"  # the ConfigMap, read-only
# The pod's own emptyDir, not a host path.
# A mount point inside the pod, not a host temp file (hence S108/B108 do not apply).
TMP_DIR = "/tmp"  # noqa: S108  # nosec B108
STDIN_KEY = "stdin"
# Where the runtime images keep what `make toolchains` prepares for the local runner.
TOOLCHAINS_DIR = "/opt/sandpod/toolchains"
ENTRYPOINT_PATH = "/opt/sandpod/entrypoint.py"  # copied in by runtimes/python/Dockerfile
NOBODY = 65534
# A warm pod's /sandbox (an emptyDir in memory): room for what a cold pod's ConfigMap may hold.
WARM_SANDBOX_MIB = math.ceil(2 * CONFIG_MAP_MAX_BYTES / MIB)
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
    # hostUsers: false: the pod gets a user namespace of its own, so its uids (65534 included)
    # map to an unprivileged host range (containerd 2+, runc 1.2+, Kubernetes 1.33+ by default).
    user_namespace: bool = False
    image_pull_policy: str = "IfNotPresent"  # runtime images are built locally, not pulled
    cpu_limit: str = "1"
    cpu_request: str = "250m"
    tmp_in_memory: bool = True  # tmpfs: sizeLimit is a hard cap (disk emptyDirs are only evicted)
    # Backstop only: the entrypoint enforces the wall limit itself (and returns partial output);
    # the pod deadline also counts image pull and container start, hence the grace.
    deadline_grace_seconds: int = 10
    entrypoint_memory_mib: int = 16  # the entrypoint's own interpreter
    # Files kept from /tmp/out travel back in the pod log (base64): kept well under the
    # kubelet's log rotation size (10 MiB by default).
    output_files_max_count: int = 20
    output_files_max_bytes: int = 4 * MIB


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


def _phase_memory_mb(job: SandboxJob) -> int:
    """The larger phase's memory: the compile step's limit can exceed the program's."""
    step = job.runtime.compile
    return max(job.limits.memory_mb, step.limits.memory_mb if step else 0)


def memory_limit_mib(job: SandboxJob, options: PodOptions) -> int:
    # The larger phase gets its memory (the entrypoint watches the smaller one's own limit); the
    # entrypoint's interpreter, its capture buffers (up to output_bytes per stream, and the
    # compiler's) and the kept output files (with their base64) come on top.
    captures = _captures(job) * job.limits.output_bytes + 3 * options.output_files_max_bytes
    return _phase_memory_mb(job) + options.entrypoint_memory_mib + math.ceil(captures / MIB)


def _captures(job: SandboxJob) -> int:
    """Output buffers the entrypoint holds: stdout, stderr, and the compiler's output."""
    return 3 if job.runtime.compile is not None else 2


def ephemeral_storage_mib(job: SandboxJob, options: PodOptions, *, live: bool = False) -> int:
    # Container logs count as ephemeral storage: the framed report is base64 of the captures and
    # the kept files (zlib may grow incompressible data slightly), plus headroom.
    limits = job.limits
    logged = (_captures(job) + 1) * limits.output_bytes + 2 * options.output_files_max_bytes
    if live or job.output is not None:
        logged += 3 * limits.output_bytes  # the live lines: base64 of stdout and stderr
    log_mib = math.ceil(logged / MIB) + 16
    return log_mib + (0 if options.tmp_in_memory else limits.tmp_mb)


def _file_key(index: int) -> str:
    # ConfigMap keys cannot hold '/': each file gets a key, and its item the file's path.
    return f"file-{index}"


def config_map_data(job: SandboxJob) -> dict[str, str]:
    """The text entries: stdin, and the script when the job has no files (else binaryData)."""
    data = {STDIN_KEY: job.stdin}
    if not job.files:
        data = {job.runtime.file_name: job.script, **data}
    size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
    size += sum(len(item.data()) for item in job.files)
    if size > CONFIG_MAP_MAX_BYTES:
        raise ConfigMapTooLargeError(size)
    return data


def config_map_binary_data(job: SandboxJob) -> dict[str, str]:
    """The job's files, base64 as the API wants binaryData (any bytes, any encoding sent)."""
    return {
        _file_key(index): base64.b64encode(item.data()).decode("ascii")
        for index, item in enumerate(job.files)
    }


def _config_map_items(job: SandboxJob) -> list[Manifest]:
    if not job.files:
        files = [{"key": job.runtime.file_name, "path": job.runtime.file_name}]
    else:
        files = [
            {"key": _file_key(index), "path": item.name} for index, item in enumerate(job.files)
        ]
    return [*files, {"key": STDIN_KEY, "path": STDIN_KEY}]


def _pod_toolchain(job: SandboxJob) -> Toolchain:
    """The runtime image's toolchain: its programs on PATH, its prepared folders in one place."""
    return Toolchain(
        runtime_id=job.runtime.id,
        programs={},
        binds=(),
        toolchains_dir=Path(TOOLCHAINS_DIR),
        installed_version=job.runtime.version,
    )


def _script_env(job: SandboxJob) -> dict[str, str]:
    toolchain = _pod_toolchain(job)
    own = {
        name: expand([value], job=job, toolchain=toolchain)[0]
        for name, value in job.runtime.env.items()
    }
    return {**SCRIPT_ENV, **own}


def _compile_arguments(job: SandboxJob, options: PodOptions) -> list[str]:
    toolchain = _pod_toolchain(job)
    arguments = [
        "--output-dir",
        OUTPUT_DIR,
        "--output-files-max-count",
        str(options.output_files_max_count),
        "--output-files-max-bytes",
        str(options.output_files_max_bytes),
    ]
    step = job.runtime.compile
    if step is None:
        return arguments
    if step.limits.memory_mb > job.limits.memory_mb:
        # The pod's limit is the compiler's; the entrypoint stops the program at its own. (Without
        # a larger compile step the pod's limit is the program's, and the kernel's OOM killer
        # takes the process that went over, as on the local runner.)
        arguments += ["--memory-bytes", str(job.limits.memory_mb * MIB)]
    limits = compile_limits(job)
    command = expand(step.command, job=job, toolchain=toolchain, options=job.compiler_options)
    return [
        *arguments,
        "--make-dir",
        BUILD_DIR,
        "--compile",
        json.dumps(command),
        "--compile-wall-seconds",
        f"{limits.wall_seconds:g}",
        "--compile-cpu-seconds",
        f"{limits.cpu_seconds:g}",
        "--compile-memory-bytes",
        str(limits.memory_mb * MIB),
        "--compile-file-size-bytes",
        str(limits.file_size_mb * MIB),
    ]


def entrypoint_command(job: SandboxJob, options: PodOptions | None = None) -> list[str]:
    runtime, limits = job.runtime, job.limits
    toolchain = _pod_toolchain(job)
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
        *(["--live"] if job.output is not None else []),
        *_compile_arguments(job, options or PodOptions()),
        *(f"--env={name}={value}" for name, value in _script_env(job).items()),
        "--",
        *expand(runtime.command, job=job, toolchain=toolchain),
        *job.args,
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


def pod_annotations(job: SandboxJob, options: PodOptions) -> dict[str, str]:
    return {
        EXECUTION_ID_ANNOTATION: job.execution_id,
        LIMITS_ANNOTATION: json.dumps(job.limits.model_dump(mode="json"), sort_keys=True),
        OUTPUT_FILES_ANNOTATION: json.dumps(
            {
                "max_count": options.output_files_max_count,
                "max_bytes": options.output_files_max_bytes,
            },
            sort_keys=True,
        ),
    }


def pod_manifest(
    job: SandboxJob, *, namespace: str, options: PodOptions | None = None, canary: bool = False
) -> Manifest:
    options = options or PodOptions()
    limits, name = job.limits, resource_name(job.execution_id)
    memory = f"{memory_limit_mib(job, options)}Mi"
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
                "command": entrypoint_command(job, options),
                "workingDir": TMP_DIR,
                "resources": {
                    "requests": {"cpu": options.cpu_request, "memory": memory},
                    "limits": {
                        "cpu": options.cpu_limit,
                        "memory": memory,
                        "ephemeral-storage": f"{ephemeral_storage_mib(job, options)}Mi",
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
                    "items": _config_map_items(job),
                },
            },
            {"name": "tmp", "emptyDir": tmp_volume},
        ],
    }
    if options.runtime_class:
        spec["runtimeClassName"] = options.runtime_class
    if options.user_namespace:
        spec["hostUsers"] = False
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _labels(job, canary=canary),
            "annotations": pod_annotations(job, options),
        },
        "spec": spec,
    }


def _warm_name(runtime: Runtime) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", runtime.id.lower()).strip("-")[:30]
    return f"sandpod-warm-{slug}-{secrets.token_hex(5)}"


def warm_pod_manifest(
    template: SandboxJob,
    *,
    namespace: str,
    options: PodOptions | None = None,
    idle_seconds: int,
) -> Manifest:
    """A pod for the warm pool: `template`'s pod (its runtime, the limits the pool serves) with
    its job still to come on stdin. Its /sandbox is a small emptyDir the entrypoint writes the
    job's files into; its deadline covers the time it may wait idle too."""
    options = options or PodOptions()
    pod = pod_manifest(template, namespace=namespace, options=options)
    name = _warm_name(template.runtime)
    metadata = pod["metadata"]
    metadata["name"] = name
    labels = metadata["labels"]
    del labels[EXECUTION_ID_LABEL]
    labels[WARM_LABEL] = WARM_IDLE
    metadata["annotations"] = {}  # the claim adds the execution's own
    spec = pod["spec"]
    spec["activeDeadlineSeconds"] += idle_seconds
    container = spec["containers"][0]
    interpreter = container["command"][:4]  # python -I -S entrypoint.py
    container["command"] = [*interpreter, "--warm", SANDBOX_DIR]
    container["resources"]["limits"]["ephemeral-storage"] = (
        f"{ephemeral_storage_mib(template, options, live=True)}Mi"
    )
    container["stdin"] = True
    container["stdinOnce"] = True  # one attach session: nobody writes a second job
    spec["volumes"][0] = {
        "name": "sandbox",
        "emptyDir": {"medium": "Memory", "sizeLimit": f"{WARM_SANDBOX_MIB}Mi"},
    }
    container["volumeMounts"][0]["readOnly"] = False
    return pod


def warm_job_arguments(job: SandboxJob, options: PodOptions | None = None) -> list[str]:
    """The entrypoint arguments a cold pod for `job` would get (a warm pod gets them on stdin)."""
    command = entrypoint_command(job, options)
    return command[command.index(ENTRYPOINT_PATH) + 1 :]


def warm_job_files(job: SandboxJob) -> dict[str, bytes]:
    """What a cold pod's ConfigMap would hold, by its path under /sandbox."""
    files = {item.name: item.data() for item in job.files} or {
        job.runtime.file_name: job.script.encode("utf-8")
    }
    return {**files, STDIN_KEY: job.stdin.encode("utf-8")}


def claim_patch(job: SandboxJob, options: PodOptions | None = None) -> list[Manifest]:
    """A JSON patch that makes an idle warm pod this job's, or fails (test op) when another
    claim got there first: the API server applies it atomically to the latest object."""
    options = options or PodOptions()
    label = "/metadata/labels/" + WARM_LABEL.replace("/", "~1")
    execution_label = "/metadata/labels/" + EXECUTION_ID_LABEL.replace("/", "~1")
    annotations = pod_annotations(job, options)
    return [
        {"op": "test", "path": label, "value": WARM_IDLE},
        {"op": "replace", "path": label, "value": WARM_CLAIMED},
        {"op": "add", "path": execution_label, "value": execution_label_value(job.execution_id)},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]


def handover_patch() -> list[Manifest]:
    """Takes a claimed warm pod's warm label away: the pod monitor reports it from then on."""
    return [{"op": "remove", "path": "/metadata/labels/" + WARM_LABEL.replace("/", "~1")}]


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
        "binaryData": config_map_binary_data(job),
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
