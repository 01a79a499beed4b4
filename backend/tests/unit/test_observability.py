"""Metrics, JSON logs with execution ids, and OTLP export switched by settings."""

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from sandpod.api import timing
from sandpod.config import Settings
from sandpod.logs import JsonFormatter
from sandpod.observability import REGISTRY, WARM_POOL, configure_telemetry, watch_warm_pool
from tests.fixtures.apps import api_client
from tests.waiting import eventually


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(Settings()) as http:
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


def test_otlp_export_is_off_unless_an_endpoint_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenTelemetry takes a global provider once per process, so the calls are what is observed.
    installed: list[object] = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)
    monkeypatch.setattr(metrics, "set_meter_provider", installed.append)
    configure_telemetry("sandpod-test", None)
    configure_telemetry("sandpod-test", "")
    assert installed == []  # (tests/integration/test_otlp_export.py: an endpoint turns it on)


async def test_span_names_use_the_route_template_not_the_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(timing, "tracer", provider.get_tracer("test"))
    async with api_client(Settings()) as http:
        for execution_id in ("ex_one", "ex_two"):
            await http.get(f"/api/v1/executions/{execution_id}")
        await http.get("/no/such/path")
    names = [span.name for span in exporter.get_finished_spans()]
    assert names == [
        "GET /api/v1/executions/{execution_id}",
        "GET /api/v1/executions/{execution_id}",
        "GET /{path}",  # the web page's fallback route: still a template, not the raw path
    ]


def test_the_warm_pool_figures_are_read_at_scrape_time() -> None:
    figures = [(2, 5)]
    watch_warm_pool(lambda: figures[-1])
    try:
        text = generate_latest(REGISTRY).decode()
        assert "sandpod_warm_sandboxes_idle 2.0" in text
        assert "sandpod_warm_claims_total 5.0" in text
        figures.append((1, 6))
        assert "sandpod_warm_claims_total 6.0" in generate_latest(REGISTRY).decode()
    finally:
        WARM_POOL.source = None
