"""The generated Kubernetes objects carry every hardening field, and values map from the limits."""

import base64
import dataclasses
import json
import re
from typing import Any

import pytest

from sandpod.adapters.kubernetes.manifests import (
    CANCELLED_ANNOTATION,
    ENTRYPOINT_PATH,
    EXECUTION_ID_ANNOTATION,
    EXECUTION_ID_LABEL,
    EXECUTOR_LABELS,
    EXECUTOR_SELECTOR,
    MONITOR_SELECTOR,
    THREAD_ENV,
    WARM_IDLE,
    WARM_LABEL,
    WARM_SELECTOR,
    ConfigMapTooLargeError,
    PodOptions,
    UnsafeNamespaceError,
    check_namespace,
    claim_patch,
    config_map_manifest,
    execution_label_value,
    handover_patch,
    namespace_labels,
    network_policy_manifest,
    pod_manifest,
    resource_name,
    warm_job_arguments,
    warm_job_files,
    warm_pod_manifest,
)
from sandpod.domain.files import SourceFile
from sandpod.domain.limits import CONFIG_MAP_MAX_BYTES, DEFAULT_POLICY, MIB, Limits
from sandpod.domain.runtimes import python, runtime
from sandpod.ports import SandboxJob

NS = "sandpod-executions"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def job(
    limits: Limits | None = None,
    execution_id: str = "ex_20250101000000000000abcdef012345",
    script: str = "print('hi')\n",
    stdin: str = "",
) -> SandboxJob:
    return SandboxJob(
        execution_id=execution_id,
        runtime=python("3.12"),
        script=script,
        stdin=stdin,
        limits=limits or DEFAULT_POLICY.defaults,
    )


def container(pod: dict[str, Any]) -> dict[str, Any]:
    containers = pod["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_pod_has_every_hardening_field() -> None:
    pod = pod_manifest(job(), namespace=NS)
    spec, box = pod["spec"], container(pod)
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["hostNetwork"] is False
    assert spec["hostPID"] is False
    assert spec["hostIPC"] is False
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    security = box["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65534
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert box["terminationMessagePolicy"] == "File"
    assert box["terminationMessagePath"] == "/dev/termination-log"
    assert "runtimeClassName" not in spec


def test_only_configmap_and_emptydir_volumes_and_the_script_is_read_only() -> None:
    pod = pod_manifest(job(), namespace=NS)
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert set(volumes) == {"sandbox", "tmp"}
    assert volumes["sandbox"]["configMap"]["name"] == pod["metadata"]["name"]
    assert volumes["sandbox"]["configMap"]["optional"] is False  # the pod waits for it
    assert volumes["sandbox"]["configMap"]["defaultMode"] == 0o444
    mounts = {mount["name"]: mount for mount in container(pod)["volumeMounts"]}
    assert mounts["sandbox"]["readOnly"] is True
    assert mounts["tmp"]["mountPath"] == "/tmp"


@pytest.mark.parametrize(
    ("wall", "deadline"), [(0.2, 11), (1, 11), (9.01, 20), (10, 20), (120, 130)]
)
def test_active_deadline_is_the_wall_limit_rounded_up_plus_the_grace(
    wall: float, deadline: int
) -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"wall_seconds": wall})
    pod = pod_manifest(job(limits), namespace=NS, options=PodOptions(deadline_grace_seconds=10))
    assert pod["spec"]["activeDeadlineSeconds"] == deadline
    no_grace = pod_manifest(job(limits), namespace=NS, options=PodOptions(deadline_grace_seconds=0))
    assert no_grace["spec"]["activeDeadlineSeconds"] == deadline - 10


def test_resources_map_from_the_limits() -> None:
    limits = Limits(
        wall_seconds=3,
        cpu_seconds=2,
        memory_mb=200,
        processes=16,
        output_bytes=2 * MIB,
        file_size_mb=8,
        tmp_mb=48,
    )
    options = PodOptions(
        cpu_limit="500m", cpu_request="100m", entrypoint_memory_mib=16, output_files_max_bytes=MIB
    )
    pod = pod_manifest(job(limits), namespace=NS, options=options)
    resources = container(pod)["resources"]
    # memory: the script's 200 MiB + the entrypoint's 16 MiB + its two 2 MiB capture buffers
    # + 3 x 1 MiB for the output files (read, compressed, base64)
    assert resources["limits"]["memory"] == "223Mi"
    assert resources["requests"]["memory"] == "223Mi"  # reserved, never overcommitted
    assert resources["limits"]["cpu"] == "500m"
    assert resources["requests"]["cpu"] == "100m"
    # 3 x 2 MiB of log + 2 x 1 MiB of files + 16
    assert resources["limits"]["ephemeral-storage"] == "24Mi"
    tmp = next(v for v in pod["spec"]["volumes"] if v["name"] == "tmp")["emptyDir"]
    assert tmp == {"sizeLimit": "48Mi", "medium": "Memory"}


def test_disk_backed_tmp_counts_against_ephemeral_storage() -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(update={"tmp_mb": 100, "output_bytes": MIB})
    pod = pod_manifest(job(limits), namespace=NS, options=PodOptions(tmp_in_memory=False))
    tmp = next(v for v in pod["spec"]["volumes"] if v["name"] == "tmp")["emptyDir"]
    assert tmp == {"sizeLimit": "100Mi"}
    # 3 x 1 MiB of log + 2 x 4 MiB of files + 16, and the 100 MiB tmp
    assert container(pod)["resources"]["limits"]["ephemeral-storage"] == "127Mi"


def test_entrypoint_command_carries_the_limits_and_runs_the_runtime_argv() -> None:
    limits = DEFAULT_POLICY.defaults.model_copy(
        update={"wall_seconds": 2.5, "cpu_seconds": 1.5, "output_bytes": 4096, "file_size_mb": 3}
    )
    command = container(pod_manifest(job(limits), namespace=NS))["command"]
    assert command[:4] == ["python3.12", "-I", "-S", ENTRYPOINT_PATH]
    pairs = command[4 : command.index("--cgroup-accounting")]
    flags = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert flags["--wall-seconds"] == "2.5"
    assert flags["--cpu-seconds"] == "1.5"
    assert flags["--output-bytes"] == "4096"
    assert flags["--file-size-bytes"] == str(3 * MIB)
    assert flags["--stdin"] == "/sandbox/stdin"
    separator = command.index("--")
    assert "--cgroup-accounting" in command[:separator]
    assert command[separator + 1 :] == ["python3.12", "-E", "-s", "-u", "/sandbox/main.py"]


def test_script_environment_limits_threads_and_points_home_at_tmp() -> None:
    spec = container(pod_manifest(job(), namespace=NS))
    # The container gets no variables of its own: the script's travel as entrypoint arguments,
    # so what the kubelet injects never reaches it.
    assert "env" not in spec
    command = spec["command"]
    env = dict(
        arg.removeprefix("--env=").split("=", 1)
        for arg in command[: command.index("--")]
        if arg.startswith("--env=")
    )
    for name, value in THREAD_ENV.items():
        assert env[name] == value
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["HOME"] == "/tmp"
    assert env["TMPDIR"] == "/tmp"


def test_labels_select_executor_pods_and_annotations_keep_the_exact_id() -> None:
    pod = pod_manifest(job(), namespace=NS)
    labels, annotations = pod["metadata"]["labels"], pod["metadata"]["annotations"]
    assert labels["app.kubernetes.io/managed-by"] == "sandpod"
    assert labels[EXECUTION_ID_LABEL] == "ex_20250101000000000000abcdef012345"
    assert labels["sandpod.io/runtime"] == "python-3.12"
    assert annotations[EXECUTION_ID_ANNOTATION] == "ex_20250101000000000000abcdef012345"
    assert json.loads(annotations["sandpod.io/limits"])["memory_mb"] == 128
    for selector in EXECUTOR_SELECTOR.split(","):
        key, value = selector.split("=")
        assert labels[key] == value
    assert CANCELLED_ANNOTATION not in annotations
    assert pod["metadata"]["namespace"] == NS


def test_a_user_namespace_is_asked_for_only_when_set() -> None:
    assert "hostUsers" not in pod_manifest(job(), namespace=NS)["spec"]
    own = pod_manifest(job(), namespace=NS, options=PodOptions(user_namespace=True))
    assert own["spec"]["hostUsers"] is False


def test_runtime_class_is_set_only_when_asked_for() -> None:
    pod = pod_manifest(job(), namespace=NS, options=PodOptions(runtime_class="gvisor"))
    assert pod["spec"]["runtimeClassName"] == "gvisor"


@pytest.mark.parametrize(
    "execution_id",
    ["ex_20250101000000000000abcdef012345", "EX__odd..ID--", "ü" * 80, "_", "a" * 300],
)
def test_names_are_valid_and_deterministic(execution_id: str) -> None:
    name = resource_name(execution_id)
    assert DNS_1123.match(name)
    assert len(name) <= 63
    assert resource_name(execution_id) == name
    label = execution_label_value(execution_id)
    assert len(label) <= 63
    assert re.match(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", label)


def test_ids_that_differ_only_in_unsafe_characters_get_different_names() -> None:
    assert resource_name("ex_a") != resource_name("ex-a")


def test_config_map_is_owned_by_the_pod_and_immutable() -> None:
    cm = config_map_manifest(
        job(script="print(input())\n", stdin="ada\n"),
        namespace=NS,
        pod_name="sandpod-x",
        pod_uid="1234-uid",
    )
    assert cm["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "sandpod-x", "uid": "1234-uid"}
    ]
    assert cm["immutable"] is True
    assert cm["data"] == {"main.py": "print(input())\n", "stdin": "ada\n"}
    assert cm["metadata"]["name"] == "sandpod-x"


def test_a_script_too_big_for_a_config_map_is_refused() -> None:
    big = job(script="x" * (CONFIG_MAP_MAX_BYTES // 2), stdin="y" * (CONFIG_MAP_MAX_BYTES // 2))
    with pytest.raises(ConfigMapTooLargeError, match="at most 1048576 bytes"):
        config_map_manifest(big, namespace=NS, pod_name="p", pod_uid="u")


def test_network_policy_denies_all_traffic_of_executor_pods() -> None:
    policy = network_policy_manifest(NS)
    assert policy["spec"] == {
        "podSelector": {"matchLabels": EXECUTOR_LABELS},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [],
    }


def test_namespace_labels_enforce_pod_security_restricted() -> None:
    labels = namespace_labels()
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


@pytest.mark.parametrize("namespace", ["default", "kube-system"])
def test_shared_namespaces_are_refused(namespace: str) -> None:
    with pytest.raises(UnsafeNamespaceError, match="dedicated namespace"):
        check_namespace(namespace)
    check_namespace("sandpod-executions")


def test_files_travel_as_config_map_items_at_their_paths() -> None:
    files = (
        SourceFile(name="main.py", content="import lib.util\n"),
        SourceFile(
            name="lib/util.py", content=base64.b64encode(b"\xff\x00").decode(), encoding="base64"
        ),
    )
    program = dataclasses.replace(job(stdin="in"), files=files, entrypoint="main.py", args=("x",))
    pod = pod_manifest(program, namespace=NS)
    items = next(v for v in pod["spec"]["volumes"] if v["name"] == "sandbox")["configMap"]["items"]
    assert items == [
        {"key": "file-0", "path": "main.py"},
        {"key": "file-1", "path": "lib/util.py"},
        {"key": "stdin", "path": "stdin"},
    ]
    config_map = config_map_manifest(program, namespace=NS, pod_name="p", pod_uid="u")
    assert config_map["data"] == {"stdin": "in"}
    assert base64.b64decode(config_map["binaryData"]["file-1"]) == b"\xff\x00"
    command = container(pod)["command"]
    assert command[-2:] == ["/sandbox/main.py", "x"]  # the program, then its arguments
    assert "--compile" not in command


def test_a_compiled_runtime_gets_its_compile_step_and_limits_in_the_pod() -> None:
    program = SandboxJob(
        execution_id="ex_c",
        runtime=runtime("c:gcc-12"),
        script="int main(void){}\n",
        stdin="",
        limits=DEFAULT_POLICY.defaults,
        compiler_options=("-O0",),
    )
    step = program.runtime.compile
    assert step is not None
    command = container(pod_manifest(program, namespace=NS))["command"]
    compiler = json.loads(command[command.index("--compile") + 1])
    assert compiler[0] == "gcc"
    assert "-O0" in compiler
    assert "/sandbox/main.c" in compiler
    assert command[command.index("--compile-wall-seconds") + 1] == f"{step.limits.wall_seconds:g}"
    assert command[command.index("--make-dir") + 1] == "/tmp/.build"
    assert command[command.index("--output-dir") + 1] == "/tmp/out"
    assert command[-1] == "/tmp/.build/main"
    # The compiler may use more than the program: the entrypoint holds the program to its own.
    assert command[command.index("--memory-bytes") + 1] == str(program.limits.memory_mb * MIB)
    assert "--memory-bytes" not in container(pod_manifest(job(), namespace=NS))["command"]
    memory = container(pod_manifest(program, namespace=NS))["resources"]["limits"]["memory"]
    assert int(memory.removesuffix("Mi")) >= step.limits.memory_mb  # the larger phase fits


# ---------------------------------------------------------------- warm pods (warm.py)


def test_a_warm_pod_is_the_cold_pod_waiting_for_its_job_on_stdin() -> None:
    cold = pod_manifest(job(), namespace=NS)
    warm = warm_pod_manifest(job(), namespace=NS, idle_seconds=300)
    box = container(warm)
    # Every hardening field and resource of the cold pod, unchanged.
    assert warm["spec"]["securityContext"] == cold["spec"]["securityContext"]
    assert box["securityContext"] == container(cold)["securityContext"]
    for field in ("automountServiceAccountToken", "enableServiceLinks", "hostNetwork", "hostPID"):
        assert warm["spec"][field] == cold["spec"][field]
    assert box["resources"]["requests"] == container(cold)["resources"]["requests"]
    assert box["resources"]["limits"]["memory"] == container(cold)["resources"]["limits"]["memory"]
    assert box["stdin"] is True
    assert box["stdinOnce"] is True  # one attach session: one job
    assert box["command"] == [*container(cold)["command"][:4], "--warm", "/sandbox"]
    assert warm["spec"]["activeDeadlineSeconds"] == cold["spec"]["activeDeadlineSeconds"] + 300
    volumes = {volume["name"]: volume for volume in warm["spec"]["volumes"]}
    assert volumes["sandbox"] == {
        "name": "sandbox",
        "emptyDir": {"medium": "Memory", "sizeLimit": "2Mi"},
    }
    labels = warm["metadata"]["labels"]
    assert labels[WARM_LABEL] == WARM_IDLE
    assert EXECUTION_ID_LABEL not in labels
    assert warm["metadata"]["annotations"] == {}
    assert DNS_1123.match(warm["metadata"]["name"])
    assert (
        warm["metadata"]["name"]
        != warm_pod_manifest(job(), namespace=NS, idle_seconds=300)["metadata"]["name"]
    )


def test_the_monitor_never_sees_a_warm_pod_until_it_is_handed_over() -> None:
    assert f"!{WARM_LABEL}" in MONITOR_SELECTOR.split(",")
    assert WARM_SELECTOR.split(",") == [*EXECUTOR_SELECTOR.split(","), WARM_LABEL]
    assert handover_patch() == [{"op": "remove", "path": "/metadata/labels/sandpod.io~1warm"}]


def test_a_claim_tests_that_the_pod_is_idle_and_makes_it_the_executions() -> None:
    the_job = job()
    patch = claim_patch(the_job)
    assert patch[0] == {"op": "test", "path": "/metadata/labels/sandpod.io~1warm", "value": "idle"}
    assert patch[1]["value"] == "claimed"
    assert patch[2]["value"] == execution_label_value(the_job.execution_id)
    assert patch[3]["value"] == pod_manifest(the_job, namespace=NS)["metadata"]["annotations"]


def test_a_warm_job_carries_what_the_cold_pod_gets() -> None:
    the_job = job(stdin="in\n")
    command = container(pod_manifest(the_job, namespace=NS))["command"]
    assert warm_job_arguments(the_job) == command[command.index(ENTRYPOINT_PATH) + 1 :]
    assert warm_job_files(the_job) == {"main.py": b"print('hi')\n", "stdin": b"in\n"}
