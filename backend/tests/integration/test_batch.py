"""POST /executions/batch in both modes: each item is judged on its own; real local sandbox."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from tests.integration.stacks import EXECUTIONS, MODES, Stack, running

pytestmark = pytest.mark.slow

BATCH = f"{EXECUTIONS}/batch"


def item(n: int, **extra: Any) -> dict[str, Any]:
    return {"runtime": "python:3.12", "script": f"print({n} * {n})", **extra}


@pytest.fixture(params=MODES)
async def stack(
    request: pytest.FixtureRequest, sandbox_runner: LocalSandboxRunner
) -> AsyncIterator[Stack]:
    async with running(
        request.param,
        sandbox_runner,
        api={"max_batch_items": 8},
        executions={"max_script_bytes": 1024},
    ) as stack:
        yield stack


async def batch(stack: Stack, items: list[Any], who: str = "owner") -> list[dict[str, Any]]:
    response = await stack.http.post(BATCH, json={"items": items}, headers=stack.headers[who])
    assert response.status_code == 200, response.text
    outcomes: list[dict[str, Any]] = response.json()["items"]
    assert [outcome["index"] for outcome in outcomes] == list(range(len(items)))
    return outcomes


async def test_one_bad_item_does_not_reject_the_others(stack: Stack) -> None:
    outcomes = await batch(
        stack,
        [
            item(2),
            {"runtime": "cobol:85", "script": "x"},  # unknown runtime
            {"runtime": "python:3.12"},  # no script
            item(3, limits={"memory_mb": 10**6}),  # over the maximum
            item(4, script="#" * 2000),  # too large
            item(5, colour="blue"),  # unknown field
            item(6),
        ],
    )
    assert [outcome["status"] for outcome in outcomes] == [202, 422, 422, 422, 413, 422, 202]
    for outcome in outcomes:
        if outcome["status"] == 202:
            assert outcome["problem"] is None
        else:
            problem = outcome["problem"]
            assert outcome["execution"] is None
            assert problem["status"] == outcome["status"]
            assert problem["detail"]
            assert problem["instance"] == f"/api/v1/executions/batch#/items/{outcome['index']}"
    assert "cobol:85" in outcomes[1]["problem"]["detail"]
    assert outcomes[2]["problem"]["errors"] == [
        {
            "field": "items.2.script",
            "message": "script: send either `script` or `files` (not both, not neither)",
        }
    ]
    assert "memory_mb" in outcomes[3]["problem"]["detail"]
    assert "colour" in outcomes[5]["problem"]["detail"]
    for index, square in ((0, 4), (6, 36)):
        finished = await stack.finished(outcomes[index]["execution"]["id"])
        assert finished["result"]["stdout"] == f"{square}\n"
    listed = await stack.http.get(EXECUTIONS, headers=stack.headers["owner"])
    assert len(listed.json()["items"]) == 2  # the refused items stored nothing


async def test_an_item_carries_files_args_and_an_entrypoint_like_a_single_submission(
    stack: Stack,
) -> None:
    program = {
        "runtime": "python:3.12",
        "files": [
            {"name": "main.py", "content": "import sys, helper\nprint(helper.twice(sys.argv[1]))"},
            {"name": "helper.py", "content": "def twice(text):\n    return text * 2\n"},
        ],
        "entrypoint": "main.py",
        "args": ["ab"],
    }
    bad_name = {"runtime": "python:3.12", "files": [{"name": "../x.py", "content": "1"}]}
    outcomes = await batch(stack, [program, bad_name])
    assert [outcome["status"] for outcome in outcomes] == [202, 422]
    assert outcomes[1]["problem"]["errors"][0]["field"].startswith("items.1.files")
    finished = await stack.finished(outcomes[0]["execution"]["id"])
    assert finished["result"]["stdout"] == "abab\n"


async def test_idempotency_is_per_item_key(stack: Stack) -> None:
    first = await batch(stack, [item(1, idempotency_key="a"), item(2, idempotency_key="b")])
    again = await batch(
        stack,
        [
            item(1, idempotency_key="a"),  # same key, same body: the same execution
            item(2, idempotency_key="a"),  # same key, other body: a conflict
            item(3),  # no key: always new
        ],
    )
    assert again[0]["status"] == 202
    assert again[0]["replayed"] is True
    assert again[0]["execution"]["id"] == first[0]["execution"]["id"]
    assert again[1]["status"] == 409
    assert "already used" in again[1]["problem"]["detail"]
    assert again[2]["replayed"] is False
    # keys are the caller's own: bob's "a" is another execution
    theirs = await batch(stack, [item(1, idempotency_key="a")], who="other")
    assert theirs[0]["replayed"] is False
    assert theirs[0]["execution"]["id"] != first[0]["execution"]["id"]


@pytest.mark.parametrize(
    ("items", "fragment"),
    [([], "at least 1 item"), ([item(n) for n in range(9)], "at most 8 items")],
)
async def test_an_empty_or_too_big_batch_is_a_422(
    stack: Stack, items: list[Any], fragment: str
) -> None:
    response = await stack.http.post(BATCH, json={"items": items}, headers=stack.headers["owner"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
    listed = await stack.http.get(EXECUTIONS, headers=stack.headers["owner"])
    assert listed.json()["items"] == []


async def test_items_that_are_not_objects_are_refused_whole(stack: Stack) -> None:
    response = await stack.http.post(
        BATCH, json={"items": [item(1), "print(2)"]}, headers=stack.headers["owner"]
    )
    assert response.status_code == 422
    assert "items.1" in response.json()["detail"]


@pytest.mark.parametrize("mode", MODES)
async def test_each_item_costs_one_submission_of_the_rate_limit(
    mode: str, sandbox_runner: LocalSandboxRunner
) -> None:
    async with running(mode, sandbox_runner, rate_limits={"submit_per_user": 3}) as stack:
        outcomes = await batch(stack, [item(n) for n in range(5)])
        assert [outcome["status"] for outcome in outcomes] == [202, 202, 202, 429, 429]
        assert "too many submissions" in outcomes[3]["problem"]["detail"]
        refused = await stack.http.post(
            BATCH, json={"items": [item(9)]}, headers=stack.headers["owner"]
        )
        assert refused.status_code == 429
