"""With SANDPOD_OTLP_ENDPOINT set, spans and metrics reach an OTLP/HTTP receiver on loopback."""

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

# Runs in a child process: OpenTelemetry allows one global provider per process.
CHILD = """
import sys
from opentelemetry import metrics, trace
from sandpod.observability import configure_telemetry, tracer
configure_telemetry("sandpod-test", sys.argv[1])
with tracer.start_as_current_span("sandbox run"):
    pass
metrics.get_meter("sandpod").create_counter("probe").add(1)
trace.get_tracer_provider().force_flush()
metrics.get_meter_provider().force_flush()
"""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []

    class Collect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            paths.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", paths
    finally:
        server.shutdown()
        server.server_close()


def test_traces_and_metrics_are_exported_when_an_endpoint_is_set(
    receiver: tuple[str, list[str]],
) -> None:
    url, paths = receiver
    subprocess.run([sys.executable, "-c", CHILD, url], check=True, timeout=60)
    assert "/v1/traces" in paths
    assert "/v1/metrics" in paths
