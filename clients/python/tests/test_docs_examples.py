"""Every ```python block of docs/sdk.md runs, in order, against the real embedded server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sandpod_client import Sandpod, sign_webhook
from tests.conftest import Account
from tests.test_transport import FINISHED

pytestmark = pytest.mark.live

PAGE = Path(__file__).resolve().parents[3] / "docs" / "sdk.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
WEBHOOK_SECRET = "whsec_docs"


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text())


def test_the_page_has_examples() -> None:
    assert len(blocks()) >= 8


def test_the_examples_run(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandpod(account.url, username=account.username, password=account.password) as owner:
        key = owner.api_keys.create("docs examples")
    for name, value in {
        "SANDPOD_URL": account.url,
        "SANDPOD_API_KEY": key.key,
        "SANDPOD_USERNAME": account.username,
        "SANDPOD_PASSWORD": account.password,
        "SANDPOD_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }.items():
        monkeypatch.setenv(name, value)

    namespace: dict[str, Any] = {"__name__": "docs_example"}
    try:
        for number, code in enumerate(blocks(), start=1):
            exec(compile(code, f"{PAGE.name} example {number}", "exec"), namespace)
    finally:
        client = namespace.get("client")
        if isinstance(client, Sandpod):
            client.close()

    printed = capsys.readouterr().out
    for expected in (
        f"signed in as {account.username}",
        "completed 0 hello, sandpod",
        "sum: 6",
        "status: completed",
        "exit code 0",
        "42",
        "0 accepted as",
        "1 refused:",
        "cancelled: cancelled",
        "422 Unprocessable",
        "404 no execution",
        "patient",
        "squares: ['0', '1', '4']",
    ):
        assert expected in printed, f"{expected!r} not in the examples' output:\n{printed}"

    receive = namespace["receive"]
    body = json.dumps(FINISHED).encode()
    good = {"Sandpod-Signature": sign_webhook(WEBHOOK_SECRET, body), "Sandpod-Delivery": "d1"}
    forged = {**good, "Sandpod-Signature": sign_webhook("another secret", body)}
    assert receive(good, body) == 204
    assert receive(forged, body) == 400
