"""The soak in short (`make soak-short`): 500 distributed executions at a steady rate while the
runner, the result processor and the API are SIGKILLed at random and started again.

Every accepted execution must end exactly once (the stored transition counter), none may be lost,
none may run to its end twice (counted from the lifecycle topic) and each completed one must print
its own marker. The shared services are not restarted here (other tests use them); `make soak`
restarts its private Kafka, Redis and FerretDB as well.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymongo
import pytest

from tests import isolation

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
OUTPUT = ROOT / "artifacts" / "soak-short"
EXECUTIONS = 500


# Past the suite's 300 s: on a loaded 2-core machine the stack's start alone has taken minutes.
@pytest.mark.timeout(900)
def test_short_soak_loses_nothing_and_runs_nothing_twice_while_processes_are_killed() -> None:
    settings = isolation.isolated_settings(unique=True)
    env = {
        **os.environ,
        "SANDPOD_MONGO_URL": settings.mongo.url.get_secret_value(),
        "SANDPOD_MONGO_DATABASE": settings.mongo.database,
        "SANDPOD_REDIS_URL": settings.redis.url.get_secret_value(),
        "SANDPOD_REDIS_PREFIX": settings.redis.prefix,
        "SANDPOD_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "SANDPOD_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "SANDPOD_KAFKA_GROUP_SUFFIX": settings.kafka.group_suffix,
        "SANDPOD_SCHEMA_REGISTRY_URL": settings.schema_registry.registry_url,
        "SANDPOD_SCHEMA_SUBJECT_PREFIX": settings.schema_registry.subject_prefix,
    }
    command = [
        sys.executable,
        str(ROOT / "bench" / "soak.py"),
        f"--executions={EXECUTIONS}",
        "--duration=50",
        "--kill-every=10",
        "--drain=150",
        "--no-plot",
        f"--output={OUTPUT}",
    ]
    (OUTPUT / "soak.json").unlink(missing_ok=True)
    try:
        finished = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        mongo: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(settings.mongo.url.get_secret_value()) as mongo:
            mongo.drop_database(settings.mongo.database)
    summary = f"{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}"
    assert (OUTPUT / "soak.json").is_file(), summary
    report = json.loads((OUTPUT / "soak.json").read_text())
    verdict = report["verdict"]

    assert verdict["accepted"] == EXECUTIONS, summary
    assert verdict["lost"] == [], summary
    assert verdict["bad_transitions"] == [], summary
    assert verdict["ran_twice"] == [], summary
    assert verdict["wrong_output"] == [], summary
    assert verdict["stored_twice"] == [], summary
    kills = [event for event in report["timeline"] if event["action"].startswith("kill")]
    assert len(kills) >= 3, report["timeline"]
    assert finished.returncode == 0, summary
