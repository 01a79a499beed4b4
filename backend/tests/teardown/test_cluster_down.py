"""`make cluster-down` leaves nothing behind: no process, mount, network link or pod cgroup.

Run on its own (`make test-cluster-down`, the last step of `make test`), because it stops the
cluster every other Kubernetes test uses. A pod is left running first, so the tear-down has real
containers, shims, network namespaces and emptyDir mounts to clean up.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.environment import unavailable

ROOT = Path(__file__).resolve().parents[3]
CLUSTER = ROOT / "scripts" / "cluster" / "cluster.sh"
STATE = Path(os.environ.get("SANDPOD_CLUSTER_DIR", ROOT / ".cluster")).resolve()
BRIDGE = "sandpod0"


def cluster(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def kubectl(*args: str) -> str:
    return cluster("kubectl", *args)


def leftovers() -> dict[str, list[str]]:
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True)
    processes = [
        line.strip()
        for line in ps.stdout.splitlines()
        if str(STATE) in line and "pytest" not in line and "ps -eo" not in line
    ]
    mounts = [
        line.split()[1]
        for line in Path("/proc/mounts").read_text().splitlines()
        if line.split()[1].startswith(f"{STATE}/")
    ]
    link = subprocess.run(["ip", "-j", "link", "show", BRIDGE], capture_output=True, text=True)
    links = (
        [item["ifname"] for item in json.loads(link.stdout or "[]")] if link.returncode == 0 else []
    )
    cgroups = [str(path) for path in Path("/sys/fs/cgroup").glob("*/kubepods")]
    return {"processes": processes, "mounts": mounts, "links": links, "pod cgroups": cgroups}


@pytest.fixture(scope="module", autouse=True)
def root_and_cluster() -> None:
    if os.geteuid() != 0:
        unavailable("the local cluster needs root")
    if subprocess.run(["which", "k3s"], capture_output=True, check=False).returncode == 0:
        unavailable("k3s is installed: cluster-down stops k3s, not the local cluster")


def test_cluster_down_leaves_nothing_behind() -> None:
    cluster("up")
    kubectl("delete", "pod", "teardown-sleeper", "--ignore-not-found", "--wait=true")
    kubectl(
        "run", "teardown-sleeper", "--image=sandpod-runtime-python:3.12",
        "--image-pull-policy=Never", "--restart=Never", "--command", "--",
        "python3", "-c", "import time; time.sleep(3600)",
    )  # fmt: skip
    kubectl("wait", "--for=condition=Ready", "pod/teardown-sleeper", "--timeout=120s")
    running = leftovers()
    for kind in ("processes", "mounts", "links"):
        assert running[kind], f"no {kind} seen while the cluster runs: the check sees nothing"

    cluster("down")

    assert leftovers() == {"processes": [], "mounts": [], "links": [], "pod cgroups": []}
