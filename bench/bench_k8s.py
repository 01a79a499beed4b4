"""Pods against the local runner, measured in one run on one machine.

  a  local runner          a hello-world through the local sandbox runner (bubblewrap + cgroups)
  b  pod, one at a time    the same job as one hardened executor pod: create Pod + ConfigMap,
                           wait for the end, read the framed report, delete (launcher.probe)
  c  pods, concurrently    executions per second with `--concurrency` pods in flight
  w  warm pod              the same job in a warm pod of the pool (warm.py): claim, job on stdin
                           through the API server's attach, result from the attached stream; the
                           pool is refilled between samples (untimed), so each run finds a pod

Run with `make bench-k8s` (it starts the local cluster and imports the runtime image first).
Figures go to artifacts/bench-k8s.json; read the ratios, not the absolute numbers.
"""

import argparse
import asyncio
import json
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kubernetes_asyncio import client as k8s

from sandpod.adapters.kubernetes.api import KubernetesApi
from sandpod.adapters.kubernetes.client import find_kube_config, new_api_client
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.adapters.kubernetes.manifests import PodOptions, namespace_labels
from sandpod.adapters.sandbox import build_local_runner
from sandpod.config import Settings
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import python
from sandpod.ports import SandboxJob

HELLO = "print('hello from sandpod')\n"
Run = Callable[[SandboxJob], Awaitable[Result]]  # runs a job to its end
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    samples: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> "Figures":
        ordered = sorted(seconds)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return cls(len(ordered), statistics.median(ordered) * 1000, p99 * 1000)


def job() -> SandboxJob:
    return SandboxJob(
        execution_id=new_execution_id(),
        runtime=python("3.12"),
        script=HELLO,
        stdin="",
        limits=DEFAULT_POLICY.defaults,
    )


def checked(result: Result) -> None:
    if result.end_reason is not EndReason.COMPLETED:
        raise SystemExit(f"a benchmark run did not complete: {result}")


async def timed_runs(run: Run, runs: int) -> Figures:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await run(job())
        samples.append(time.perf_counter() - started)
        checked(result)
    return Figures.of(samples)


async def warm_samples(warm: KubernetesLauncher, run: Run, runs: int) -> Figures:
    """Claim to result in a warm pod; the pool is full before each sample (not timed)."""
    samples = []
    for _ in range(runs):
        await asyncio.wait_for(warm.warm_up(), 120)
        started = time.perf_counter()
        result = await run(job())
        samples.append(time.perf_counter() - started)
        checked(result)
    return Figures.of(samples)


async def rate(run: Run, total: int, concurrency: int) -> float:
    queue = list(range(total))

    async def worker() -> None:
        while queue:
            queue.pop()
            checked(await run(job()))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="sequential samples per figure")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--output", type=Path, default=ROOT / "artifacts" / "bench-k8s.json")
    args = parser.parse_args()

    local = build_local_runner(Settings().local_runner)
    source = find_kube_config()
    api_client = await new_api_client(source)
    core = k8s.CoreV1Api(api_client)
    namespace = f"sandpod-bench-{secrets.token_hex(4)}"
    metadata = k8s.V1ObjectMeta(name=namespace, labels=namespace_labels())
    await core.create_namespace(k8s.V1Namespace(metadata=metadata))
    api = KubernetesApi(api_client, namespace)

    async def connect() -> KubernetesApi:
        return api

    launcher = KubernetesLauncher(
        connect, namespace=namespace, options=PodOptions(image_pull_policy="IfNotPresent")
    )

    async def warm_connect() -> KubernetesApi:  # its own client: close() closes it
        return KubernetesApi(await new_api_client(source), namespace)

    warm = KubernetesLauncher(
        warm_connect,
        namespace=namespace,
        options=PodOptions(image_pull_policy="IfNotPresent"),
        warm_pool_size=2,
        warm_pool_runtimes=["python:3.12"],
    )

    async def in_warm_pod(the_job: SandboxJob) -> Result:
        claims = warm.warm_claims
        result = await warm.run(the_job)
        if result is None or warm.warm_claims != claims + 1:
            raise SystemExit("a warm benchmark run did not get its result from a warm pod")
        return result

    try:
        await launcher.prepare()
        await warm.prepare()
        await launcher.probe(job())  # warm: image unpacked, caches filled
        await local.run(job())
        local_c1 = await timed_runs(local.run, args.runs * 3)
        pod_c1 = await timed_runs(launcher.probe, args.runs)
        warm_c1 = await warm_samples(warm, in_warm_pod, args.runs * 2)
        total = args.runs * 2
        local_rate = await rate(local.run, total * 3, args.concurrency)
        pod_rate = await rate(launcher.probe, total, args.concurrency)
    finally:
        await warm.close()
        await core.delete_namespace(namespace)
        await api_client.close()
        await local.close()

    report = {
        "local_c1": asdict(local_c1),
        "pod_c1": asdict(pod_c1),
        "local_rate_per_s": local_rate,
        "pod_rate_per_s": pod_rate,
        "warm_pod_c1": asdict(warm_c1),
        "warm_over_cold_pod_p50": warm_c1.p50_ms / pod_c1.p50_ms,
        "pod_over_local_p50": pod_c1.p50_ms / local_c1.p50_ms,
        "pod_over_local_rate": pod_rate / local_rate,
        "concurrency": args.concurrency,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"{'':28} {'p50 ms':>9} {'p99 ms':>9} {'runs/s':>8}")
    print(f"{'local runner':28} {local_c1.p50_ms:9.1f} {local_c1.p99_ms:9.1f} {local_rate:8.2f}")
    print(f"{'pod per execution':28} {pod_c1.p50_ms:9.1f} {pod_c1.p99_ms:9.1f} {pod_rate:8.2f}")
    print(f"{'warm pod (pool refilled)':28} {warm_c1.p50_ms:9.1f} {warm_c1.p99_ms:9.1f}")
    print(f"warm pod / cold pod: p50 x{report['warm_over_cold_pod_p50']:.3f}")
    print(
        f"pod / local: p50 x{report['pod_over_local_p50']:.1f}, "
        f"throughput x{report['pod_over_local_rate']:.3f} (concurrency {args.concurrency})"
    )


if __name__ == "__main__":
    asyncio.run(main())
