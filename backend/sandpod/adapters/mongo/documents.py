"""Execution <-> BSON document. The execution id is the document's _id.

Timestamps are BSON dates, which keep milliseconds: an execution read back has its times cut to
the millisecond. Everything else is the model's JSON form, so it round-trips exactly.
"""

from datetime import datetime
from typing import Any

from sandpod.domain.execution import Execution
from sandpod.domain.webhooks import WebhookDelivery

Document = dict[str, Any]

_TIMES = ("created_at", "started_at", "finished_at")


def to_document(execution: Execution) -> Document:
    document = execution.model_dump(mode="json", exclude={"id", *_TIMES})
    document["_id"] = execution.id
    for name in _TIMES:
        document[name] = getattr(execution, name)
    if execution.webhook is not None:
        document["webhook"] = webhook_document(execution.webhook)
    return document


def webhook_document(webhook: WebhookDelivery) -> Document:
    """A delivery as a sub-document; its due time a BSON date, so the server can compare it."""
    document = webhook.model_dump(mode="json")
    document["next_attempt_at"] = webhook.next_attempt_at
    return document


def from_document(document: Document) -> Execution:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return Execution.model_validate({**fields, "id": document["_id"]})


def status_changes(execution: Execution) -> Document:
    """The fields a status change may touch, as a $set document."""
    return {
        "status": execution.status.value,
        "version": execution.version,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "result": None if execution.result is None else execution.result.model_dump(mode="json"),
    }


def as_datetime(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a BSON date, got {type(value).__name__}")
    return value
