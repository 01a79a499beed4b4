"""scripts/services, the local services `make services-up` starts, as the tests run them."""

import base64
from pathlib import Path

from tests.fixtures.throwaway import ThrowawayBroker

# 16 bytes whose base64url starts with '-', as one random id in 64 does.
DASHED_CLUSTER_ID = base64.urlsafe_b64encode(b"\xf8" + bytes(range(1, 16))).decode().rstrip("=")


async def test_kafka_formats_its_storage_with_a_cluster_id_that_starts_with_a_dash(
    tmp_path: Path,
) -> None:
    assert DASHED_CLUSTER_ID.startswith("-")
    broker = ThrowawayBroker(tmp_path / "services")
    broker.env["SANDPOD_KAFKA_CLUSTER_ID"] = DASHED_CLUSTER_ID
    await broker.services("up")  # was: "argument --cluster-id/-t: expected one argument"
    try:
        meta = (tmp_path / "services" / "kafka" / "data" / "meta.properties").read_text()
        assert f"cluster.id={DASHED_CLUSTER_ID}" in meta.splitlines()
    finally:
        await broker.services("down")
