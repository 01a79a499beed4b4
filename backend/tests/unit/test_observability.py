"""Metrics, JSON logs with execution ids, and OTLP export switched by settings."""

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from opentelemetry import trace

from sandpod.composition.embedded import embedded_app
from sandpod.config import Settings
from sandpod.logs import JsonFormatter
from sandpod.observability import configure_telemetry
from tests.fakes import FakeSandbox
from tests.waiting import eventually

pytestmark = pytest.mark.unit


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = embedded_app(Settings(), FakeSandbox())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def sample(metrics: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_executions_and_show_queue_depth(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    response = await client.post(
        "/api/v1/executions", json={"runtime": "python:3.12", "script": "print(1)"}
    )
    execution_id = response.json()["id"]

    async def completed() -> bool:
        body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
        return bool(body["status"] == "completed")

    await eventually(completed, timeout=10, what=f"{execution_id} to complete")
    after = (await client.get("/metrics")).text
    submitted = "sandpod_executions_submitted_total"
    assert sample(after, submitted, runtime="python:3.12") == (
        sample(before, submitted, runtime="python:3.12") + 1
    )
    finished = "sandpod_executions_finished_total"
    labels = {"status": "completed", "end_reason": "completed"}
    assert sample(after, finished, **labels) == sample(before, finished, **labels) + 1
    assert "sandpod_executions_queued 0.0" in after
    assert 'sandpod_http_request_seconds_count{method="POST",route="/api/v1/executions"' in after


def test_json_logs_carry_the_execution_id() -> None:
    record = logging.LogRecord(
        "sandpod.x", logging.INFO, __file__, 1, "execution accepted", (), None
    )
    record.execution_id = "ex_123"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "execution accepted"
    assert entry["execution_id"] == "ex_123"
    assert entry["level"] == "info"


def test_otlp_export_is_off_unless_an_endpoint_is_set() -> None:
    provider = trace.get_tracer_provider()
    configure_telemetry("sandpod-test", None)
    assert trace.get_tracer_provider() is provider
