"""Per-worker names on shared servers, so parallel pytest-xdist workers never see each other's data.

Every name carries the xdist worker id (gw0, gw1, ...; "main" without xdist) and a token made once
per test process, so two runs on one machine do not collide either. Use the helper of each server:

    mongo_database()         sandpod_test_gw0_1a2b3c4d       (FerretDB allows [A-Za-z0-9_-]{1,63})
    redis_prefix()           test:gw0:1a2b3c4d:
    kafka_topic_prefix()     test.gw0.1a2b3c4d.
    kafka_group_suffix()     .gw0.1a2b3c4d
    schema_subject_prefix()  test.gw0.1a2b3c4d.
    isolated_settings()      Settings with all of the above (groups overridden by dict)

Pass `unique=True` for a name no other test in this worker shares (adds a fresh token).
"""

import os
import uuid
from functools import cache
from typing import Any

from sandpod.config import GROUPS, Mode, Settings


def worker_id() -> str:
    """The xdist worker running this process ("main" when xdist is off)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@cache
def run_token() -> str:
    """Random, fixed for the life of this process."""
    return uuid.uuid4().hex[:8]


def suffix(separator: str, *, unique: bool = False) -> str:
    """`<worker><sep><run token>`, plus `<sep><fresh token>` with `unique`: the shared name part."""
    parts = [worker_id(), run_token()]
    if unique:
        parts.append(uuid.uuid4().hex[:8])
    return separator.join(parts)


def mongo_database(base: str = "sandpod_test", *, unique: bool = False) -> str:
    return f"{base}_{suffix('_', unique=unique)}"


def redis_prefix(base: str = "test", *, unique: bool = False) -> str:
    return f"{base}:{suffix(':', unique=unique)}:"


def kafka_topic_prefix(base: str = "test", *, unique: bool = False) -> str:
    return f"{base}.{suffix('.', unique=unique)}."


def kafka_group_suffix(*, unique: bool = False) -> str:
    return f".{suffix('.', unique=unique)}"


def schema_subject_prefix(base: str = "test", *, unique: bool = False) -> str:
    return f"{base}.{suffix('.', unique=unique)}."


def isolated_settings(*, unique: bool = False, **overrides: Any) -> Settings:
    """Distributed-mode Settings whose every shared-server name is this worker's own.

    Override a process field by name (`auth_required=True` is not one: groups take a dict of
    their fields, `auth={"auth_required": True}`, `mongo={"url": url}`).
    """
    groups: dict[str, dict[str, Any]] = {
        "mongo": {"database": mongo_database(unique=unique)},
        "redis": {"prefix": redis_prefix(unique=unique)},
        "kafka": {
            "topic_prefix": kafka_topic_prefix(unique=unique),
            "group_suffix": kafka_group_suffix(unique=unique),
        },
        "schema_registry": {"subject_prefix": schema_subject_prefix(unique=unique)},
    }
    fields: dict[str, Any] = {"mode": Mode.DISTRIBUTED}
    for name, value in overrides.items():
        if name in GROUPS:
            groups[name] = {**groups.get(name, {}), **value}
        else:
            fields[name] = value
    for name, values in groups.items():
        fields[name] = GROUPS[name](**values)
    return Settings(**fields)
