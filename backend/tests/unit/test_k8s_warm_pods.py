"""The launcher's warm pod path against an in-memory API: claims, the job on stdin, the result
read from the attached stream, hand-over to the monitor, and every way it falls back."""

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from sandpod.adapters.kubernetes import entrypoint as ep
from sandpod.adapters.kubernetes.api import KubeApiError
from sandpod.adapters.kubernetes.launcher import KubernetesLauncher
from sandpod.adapters.kubernetes.manifests import (
    CANCELLED_ANNOTATION,
    EXECUTION_ID_ANNOTATION,
    HANDLED_ANNOTATION,
    MONITOR_SELECTOR,
    WARM_CLAIMED,
    WARM_LABEL,
    resource_name,
)
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason
from tests.unit.test_k8s_launcher import FakeApi, Sink, job, launcher
from tests.waiting import eventually


def report(stdout: bytes, exit_code: int = 0) -> list[bytes]:
    """What a warm pod's entrypoint writes for a program that printed `stdout`."""
    outcome = ep.Outcome(
        ep.EXITED,
        exit_code=exit_code,
        captures={"stdout": ep.Capture(1 << 20, bytearray(stdout)), "stderr": ep.Capture(1 << 20)},
    )
    block = ep.encode_frames([("stdout", stdout), ("stderr", b"")])
    summary = ep.build_summary(outcome, block)
    lines = [f"SANDPOD1 summary {summary}\n".encode(), *block.splitlines(keepends=True)]
    return [
        b"SANDPOD1 started\n",
        *ep.live_lines("stdout", stdout, cut=False).splitlines(True),
        *lines,
    ]


class Answer:
    def __init__(self, lines: Sequence[bytes | Exception]) -> None:
        self.lines = lines
        self.jobs: list[dict[str, object]] = []

    async def __call__(self, name: str, payload: bytes) -> AsyncIterator[bytes]:
        header, body = payload.split(b"\n", 1)
        assert header == f"SANDPOD1 job {len(body)}".encode()
        self.jobs.append(json.loads(body))
        for line in self.lines:
            if isinstance(line, Exception):
                raise line
            yield line


async def warm_launcher(api: FakeApi, size: int = 1) -> KubernetesLauncher:
    runner = launcher(api, warm_pool_size=size, warm_pool_runtimes=["python:3.12"])
    await runner.prepare()
    await asyncio.wait_for(runner.warm_up(), 5)
    return runner


def warm_pods(api: FakeApi) -> list[str]:
    return [name for name, pod in api.pods.items() if WARM_LABEL in pod["metadata"]["labels"]]


async def settle(runner: KubernetesLauncher) -> None:
    await asyncio.gather(*list(runner._background), return_exceptions=True)  # clean-ups finish


async def test_the_result_comes_back_on_the_attached_stream() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (pod,) = warm_pods(api)
    api.attach_answer = answer = Answer(report(b"42\n"))
    sink = Sink()
    result = await runner.run(dataclasses.replace(job("ex_w", "print(42)\n"), output=sink))
    assert result is not None
    assert result.end_reason is EndReason.COMPLETED
    assert result.stdout == "42\n"
    assert sink.writes == [("stdout", b"42\n", False)]  # live, before the result
    assert not sink.closed.is_set()  # with a result the caller closes the output (the port's rule)
    assert runner.warm_claims == 1
    assert answer.jobs[0]["files"] == {"main.py": "cHJpbnQoNDIpCg==", "stdin": ""}
    argv = answer.jobs[0]["argv"]
    assert isinstance(argv, list)
    assert argv[:2] == ["--wall-seconds", "10"]
    assert "create_config_map" not in api.calls  # the job went on stdin, not in a ConfigMap
    await settle(runner)
    assert pod not in api.pods  # used once, then deleted
    await runner.close()


async def test_a_claimed_pod_is_this_executions_and_handed_to_the_monitor() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (pod,) = warm_pods(api)
    seen: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def answer(name: str, payload: bytes) -> AsyncIterator[bytes]:
        seen.append(json.loads(json.dumps(api.pods[name]["metadata"])))
        yield b"SANDPOD1 started\n"
        await gate.wait()  # the stream breaks with the program still running
        raise KubeApiError(None, "connection reset")

    api.attach_answer = answer
    running = asyncio.create_task(runner.run(job("ex_h")))
    # Handed over once the pod had its job.
    await eventually(lambda: WARM_LABEL not in api.pods[pod]["metadata"]["labels"], timeout=5)
    assert seen[0]["labels"][WARM_LABEL] == WARM_CLAIMED
    assert seen[0]["annotations"][EXECUTION_ID_ANNOTATION] == "ex_h"
    gate.set()
    assert await running is None  # the monitor reports it now
    assert pod in api.pods
    assert "!" + WARM_LABEL in MONITOR_SELECTOR
    await runner.close()


async def test_a_pod_that_never_took_the_job_is_deleted_and_the_job_runs_cold() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (pod,) = warm_pods(api)
    api.attach_answer = Answer([KubeApiError(500, "attach refused")])
    assert await runner.run(job("ex_c")) is None
    assert resource_name("ex_c") in api.pods  # the cold pod
    await settle(runner)
    assert pod not in api.pods
    await runner.close()


async def test_a_pod_another_runner_claimed_first_is_skipped() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (pod,) = warm_pods(api)
    api.pods[pod]["metadata"]["labels"][WARM_LABEL] = WARM_CLAIMED  # the other runner's claim
    assert await runner.run(job("ex_o")) is None
    assert runner.warm_claims == 0
    assert resource_name("ex_o") in api.pods
    await runner.close()


async def test_a_job_the_pool_does_not_fit_runs_cold() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    limits = DEFAULT_POLICY.defaults.model_copy(update={"memory_mb": 64})
    bigger = dataclasses.replace(job("ex_m"), limits=limits)
    assert await runner.run(bigger) is None
    assert runner.warm_claims == 0
    assert len(warm_pods(api)) == 1
    await runner.close()


async def test_cancel_while_the_job_runs_in_a_warm_pod() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (pod,) = warm_pods(api)
    deleted = asyncio.Event()

    async def answer(name: str, payload: bytes) -> AsyncIterator[bytes]:
        yield b"SANDPOD1 started\n"
        await deleted.wait()  # the stream ends when the pod is deleted

    api.attach_answer = answer
    running = asyncio.create_task(runner.run(job("ex_x")))
    await eventually(lambda: WARM_LABEL not in api.pods[pod]["metadata"]["labels"], timeout=5)
    assert await runner.cancel("ex_x")
    assert api.pods.get(pod) is None
    deleted.set()
    result = await running
    assert result is not None
    assert result.end_reason is EndReason.CANCELLED
    await runner.close()


async def test_a_verified_result_marks_the_pod_handled_before_deleting_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    (_pod,) = warm_pods(api)
    api.attach_answer = Answer(report(b"x\n"))
    order: list[str] = []
    annotate, delete = api.annotate_pod, api.delete_pod

    async def noting_annotate(name: str, annotations: dict[str, str]) -> bool:
        order.append(",".join(annotations))
        return await annotate(name, annotations)

    async def noting_delete(name: str, *, uid: str | None = None) -> None:
        order.append("delete")
        await delete(name, uid=uid)

    monkeypatch.setattr(api, "annotate_pod", noting_annotate)
    monkeypatch.setattr(api, "delete_pod", noting_delete)
    assert await runner.run(job("ex_d")) is not None
    await settle(runner)
    assert order[:2] == [HANDLED_ANNOTATION, "delete"]
    assert CANCELLED_ANNOTATION not in order
    await runner.close()


async def test_a_forged_block_fails_the_digest_and_the_monitor_decides() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    lines = report(b"real\n")
    lines[-2] = lines[-2][:-2] + b"A\n"  # one payload character changed
    api.attach_answer = Answer(lines)
    assert await runner.run(job("ex_f")) is None
    await runner.close()


async def test_close_deletes_the_idle_pods() -> None:
    api = FakeApi()
    runner = await warm_launcher(api, size=2)
    assert len(warm_pods(api)) == 2
    await runner.close()
    assert warm_pods(api) == []


async def test_a_second_run_of_a_job_a_warm_pod_serves_starts_nothing() -> None:
    api = FakeApi()
    runner = await warm_launcher(api)
    gate = asyncio.Event()

    async def answer(name: str, payload: bytes) -> AsyncIterator[bytes]:
        yield b"SANDPOD1 started\n"
        await gate.wait()
        for line in report(b"once\n")[1:]:
            yield line

    api.attach_answer = answer
    first = asyncio.create_task(runner.run(job("ex_twice")))
    await eventually(lambda: "attach" in api.calls, timeout=5)
    assert await runner.run(job("ex_twice")) is None  # the bus delivered the request again
    gate.set()
    result = await first
    assert result is not None
    assert result.stdout == "once\n"
    assert resource_name("ex_twice") not in api.pods  # no cold pod ran it a second time
    assert api.calls.count("attach") == 1
    await runner.close()
