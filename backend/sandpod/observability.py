"""Metrics (Prometheus, and OTLP when configured) and traces (OTLP when configured).

Export is off unless SANDPOD_OTLP_ENDPOINT is set; the Prometheus registry is always there so
`/metrics` works in every mode.
"""

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sandpod.domain.events import Event
from sandpod.domain.execution import Execution
from sandpod.domain.limits import Limits
from sandpod.domain.result import Result
from sandpod.domain.runtimes import Runtime
from sandpod.ports import EventHandler, Sandbox, SandboxJob

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
SUBMITTED = Counter(
    "sandpod_executions_submitted_total", "Executions accepted by the API.", ["runtime"],
    registry=REGISTRY,
)  # fmt: skip
FINISHED = Counter(
    "sandpod_executions_finished_total", "Executions that reached a terminal status.",
    ["status", "end_reason"], registry=REGISTRY,
)  # fmt: skip
RUN_SECONDS = Histogram(
    "sandpod_sandbox_run_seconds", "Wall time of sandbox runs, measured by the runner.",
    ["runtime", "end_reason"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)  # fmt: skip
HANDLE_SECONDS = Histogram(
    "sandpod_event_handle_seconds", "Time to handle one event.", ["group", "event"],
    registry=REGISTRY,
)  # fmt: skip
QUEUE_DEPTH = Gauge(
    "sandpod_executions_queued", "Executions accepted and not started yet.", registry=REGISTRY
)
REQUESTS = Histogram(
    "sandpod_http_request_seconds", "HTTP request latency.", ["method", "route", "status"],
    registry=REGISTRY,
)  # fmt: skip

tracer = trace.get_tracer("sandpod")


class WarmPoolCollector:
    """The local runner's warm pool at scrape time: how many sandboxes wait, how many were
    claimed. One per process: the runner that serves registers its figures (watch_warm_pool)."""

    def __init__(self) -> None:
        self.source: Callable[[], tuple[int, int]] | None = None  # () -> (idle, claims)

    def collect(self) -> Iterator[Metric]:
        if self.source is None:
            return
        idle, claims = self.source()
        yield GaugeMetricFamily(
            "sandpod_warm_sandboxes_idle", "Warm sandboxes waiting for a claim.", value=idle
        )
        yield CounterMetricFamily(
            "sandpod_warm_claims", "Executions that ran in a warm sandbox.", value=claims
        )


WARM_POOL = WarmPoolCollector()
REGISTRY.register(WARM_POOL)


def watch_warm_pool(source: Callable[[], tuple[int, int]]) -> None:
    WARM_POOL.source = source


def configure_telemetry(service_name: str, otlp_endpoint: str | None) -> None:
    """Install OTLP exporters for traces and metrics when an endpoint is configured."""
    if not otlp_endpoint:
        return
    from opentelemetry import metrics
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = otlp_endpoint.rstrip("/")
    resource = Resource.create({"service.name": service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(f"{endpoint}/v1/metrics"))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    log.info("OTLP export on", extra={"endpoint": endpoint, "service": service_name})


@asynccontextmanager
async def timed_handling(group: str, event: str, execution_id: str) -> AsyncIterator[None]:
    """A span and a latency sample around handling one event."""
    started = time.perf_counter()
    with tracer.start_as_current_span(
        f"handle {event}", attributes={"sandpod.group": group, "sandpod.execution_id": execution_id}
    ):
        try:
            yield
        finally:
            HANDLE_SECONDS.labels(group, event).observe(time.perf_counter() - started)


def count_finished(execution: Execution) -> None:
    reason = execution.result.end_reason if execution.result else "unknown"
    FINISHED.labels(execution.status, reason).inc()


class InstrumentedSandbox:
    """Wraps a Sandbox with a span per run and a run-time histogram (when it returns a result)."""

    def __init__(self, inner: Sandbox) -> None:
        self._inner = inner
        self.name = inner.name
        self.reports_start = inner.reports_start

    def runtimes(self) -> list[Runtime]:
        return self._inner.runtimes()

    def process_budget(self, limits: Limits) -> int:
        return self._inner.process_budget(limits)

    async def cancel(self, execution_id: str) -> bool:
        return await self._inner.cancel(execution_id)

    async def close(self) -> None:
        await self._inner.close()

    async def probe(self, job: SandboxJob) -> Result:
        with self._span("sandbox probe", job):
            return await self._inner.probe(job)

    async def run(self, job: SandboxJob) -> Result | None:
        with self._span("sandbox run", job) as span:
            result = await self._inner.run(job)
            if result is not None:
                span.set_attribute("sandpod.end_reason", str(result.end_reason))
        if result is not None:
            RUN_SECONDS.labels(job.runtime.id, result.end_reason).observe(result.wall_seconds)
        return result

    @staticmethod
    @contextmanager
    def _span(name: str, job: SandboxJob) -> Iterator[trace.Span]:
        attributes = {"sandpod.execution_id": job.execution_id, "sandpod.runtime": job.runtime.id}
        with tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span


def instrumented(group: str, handler: EventHandler) -> EventHandler:
    async def handle(event: Event) -> None:
        async with timed_handling(group, event.type, event.execution_id):
            await handler(event)

    return handle
