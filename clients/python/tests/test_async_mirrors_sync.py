"""`AsyncSandpod` offers exactly what `Sandpod` does, with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from sandpod_client import client, client_async

PAIRS = [
    (client.Sandpod, client_async.AsyncSandpod),
    (client.Executions, client_async.AsyncExecutions),
    (client.ApiKeys, client_async.AsyncApiKeys),
    (client.Webhooks, client_async.AsyncWebhooks),
]
RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}


def public(kind: type) -> dict[str, inspect.Signature]:
    return {
        RENAMED.get(name, name): inspect.signature(member)
        for name, member in vars(kind).items()
        if callable(member)
        and (not name.startswith("_") or name in RENAMED or name in RENAMED.values())
    }


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=[pair[0].__name__ for pair in PAIRS])
def test_same_methods_same_parameters(sync: type, asynchronous: type) -> None:
    left, right = public(sync), public(asynchronous)
    assert set(left) == set(right)
    for name, signature in left.items():
        assert list(signature.parameters) == list(right[name].parameters), name
