"""The warm pod pool on the real cluster: pods started ahead, each claimed by one execution whose
job goes to the pod's stdin through the API server's attach and whose result comes back on the
attached stream (warm.py). A warm run must be indistinguishable from a cold one."""

import asyncio
import secrets

import pytest

from sandpod.adapters.kubernetes.manifests import WARM_SELECTOR, warm_pod_manifest
from sandpod.domain.execution import new_execution_id
from sandpod.domain.limits import DEFAULT_POLICY, Limits
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import python
from sandpod.ports import OutputSink, SandboxJob
from tests.cluster import Cluster, warm_launcher
from tests.e2e.test_kubernetes_runner import LiveOutput, joined, run_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPTS = {
    "hello and stdin": "import sys\nprint('hello', sys.stdin.read().strip())\n",
    "exit code and stderr": (
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n"
    ),
    "what the program sees": (
        "import os, sys\n"
        "print(sys.argv, os.getcwd(), os.getuid())\n"
        "print(sorted(n for n in os.listdir('/sandbox') if not n.startswith('..')))\n"
        "print(sorted(os.environ))\n"
    ),
}


def job(
    script: str,
    *,
    execution_id: str | None = None,
    limits: Limits | None = None,
    output: OutputSink | None = None,
) -> SandboxJob:
    return SandboxJob(
        execution_id or new_execution_id(),
        python("3.12"),
        script,
        "e2e\n",
        limits or DEFAULT_POLICY.defaults,
        output=output,
    )


async def warm_pods(cluster: Cluster) -> list[str]:
    listing = await cluster.api.list_pods(WARM_SELECTOR)
    return sorted(pod["metadata"]["name"] for pod in listing.pods)


async def test_a_warm_run_equals_a_cold_run_and_each_pod_serves_once(cluster: Cluster) -> None:
    launcher = warm_launcher(cluster)
    seen: list[str] = []
    try:
        await launcher.prepare()
        for name, script in SCRIPTS.items():
            await asyncio.wait_for(launcher.warm_up(), 120)
            seen += await warm_pods(cluster)
            claims = launcher.warm_claims
            warm = await launcher.run(job(script))
            assert launcher.warm_claims == claims + 1, f"{name}: not run warm"
            assert isinstance(warm, Result), f"{name}: no result from the stream"
            cold = (await run_job(cluster, job(script))).result
            assert (warm.end_reason, warm.exit_code) == (cold.end_reason, cold.exit_code), name
            assert (warm.stdout, warm.stderr) == (cold.stdout, cold.stderr), name
            assert warm.peak_memory_bytes > 0
    finally:
        await launcher.close()
    assert len(set(seen)) == len(SCRIPTS)  # a new pod for every execution
    left = set(await warm_pods(cluster)) & set(seen)
    assert not left, f"warm pods left after close: {left}"


async def test_nothing_of_one_execution_is_visible_to_the_next(cluster: Cluster) -> None:
    launcher = warm_launcher(cluster)
    try:
        await launcher.prepare()
        await asyncio.wait_for(launcher.warm_up(), 120)
        planted = await launcher.run(job("open('/tmp/secret', 'w').write('s')\nprint('planted')\n"))
        await asyncio.wait_for(launcher.warm_up(), 120)
        seen = await launcher.run(job("import os\nprint(sorted(os.listdir('/tmp')))\n"))
        assert launcher.warm_claims == 2
    finally:
        await launcher.close()
    assert planted is not None
    assert planted.stdout == "planted\n"
    assert seen is not None
    assert "secret" not in seen.stdout, seen


async def test_live_output_and_files_come_from_a_warm_pod(cluster: Cluster) -> None:
    live = LiveOutput()
    execution_id = new_execution_id()
    script = (
        "import time\n"
        "print('one', flush=True)\n"
        "time.sleep(1)\n"
        "open('/tmp/out/report.txt', 'w').write('kept')\n"
        "print('two', flush=True)\n"
    )
    launcher = warm_launcher(cluster)
    try:
        await launcher.prepare()
        await asyncio.wait_for(launcher.warm_up(), 120)
        recorder = live.recorder(execution_id)
        result = await launcher.run(job(script, execution_id=execution_id, output=recorder))
        await recorder.close()  # with a result the caller ends the output (the port's rule)
    finally:
        await launcher.close()
    assert result is not None
    assert result.stdout == "one\ntwo\n"
    assert [item.name for item in result.files] == ["report.txt"]
    chunks = await live.whole(execution_id)
    assert joined(chunks, "stdout") == "one\ntwo\n"
    assert live.arrivals[-1] - live.arrivals[0] >= 0.5  # as written, not at the end


async def test_a_cancelled_warm_run_ends_cancelled(cluster: Cluster) -> None:
    launcher = warm_launcher(cluster)
    try:
        await launcher.prepare()
        await asyncio.wait_for(launcher.warm_up(), 120)
        the_job = job("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
        running = asyncio.create_task(launcher.run(the_job))
        # Meant to hit the running program; CANCELLED holds at any point of the claim too.
        await asyncio.sleep(2)
        assert await launcher.cancel(the_job.execution_id)
        result = await asyncio.wait_for(running, 60)
    finally:
        await launcher.close()
    assert result is not None
    assert result.end_reason is EndReason.CANCELLED, result


async def test_a_job_the_pool_does_not_fit_runs_cold(cluster: Cluster) -> None:
    launcher = warm_launcher(cluster)
    try:
        await launcher.prepare()
        await asyncio.wait_for(launcher.warm_up(), 120)
        limits = DEFAULT_POLICY.defaults.model_copy(update={"memory_mb": 96})
        result = await launcher.run(job("print('cold')", limits=limits))
        assert launcher.warm_claims == 0
        assert result is None  # started cold: the pod monitor reports it
    finally:
        await launcher.close()


async def test_a_warm_pod_nobody_holds_is_deleted(cluster: Cluster) -> None:
    # A dead runner's pod: created, then its container ended without a job (stdin closed).
    template = job("")
    leaked = warm_pod_manifest(template, namespace=cluster.api.namespace, idle_seconds=300)
    leaked["metadata"]["name"] = f"sandpod-warm-leaked-{secrets.token_hex(4)}"
    leaked["spec"]["containers"][0]["stdin"] = False  # EOF at once: the entrypoint reports, ends
    await cluster.api.create_pod(leaked)
    for _ in range(120):
        pod = await cluster.api.read_pod(leaked["metadata"]["name"])
        if pod is not None and (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            break
        await asyncio.sleep(0.5)  # polling the pod's phase, bounded by the loop
    launcher = warm_launcher(cluster, idle_seconds=10)
    try:
        await launcher.prepare()
        for _ in range(60):
            if leaked["metadata"]["name"] not in await warm_pods(cluster):
                break
            await asyncio.sleep(0.5)  # polling the reaper's work, bounded by the loop
        else:
            raise AssertionError("the leaked warm pod was not deleted")
    finally:
        await launcher.close()
