"""Request and response bodies of /api/v1/scripts."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.scripts import Script, ScriptName

Name = Annotated[ScriptName, Field(description="1-100 characters, shown in the script list.")]
RuntimeId = Annotated[str, Field(min_length=1, max_length=64, examples=["python:3.12"])]


class CreateScript(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "hello", "runtime": "python:3.12", "content": "print('hi')"}]
        },
    )

    name: Name
    runtime: RuntimeId
    content: Annotated[str, Field(description="The source code.")]
    stdin: Annotated[str, Field(description="Text for standard input when it runs.")] = ""


class UpdateScript(BaseModel):
    """Only the fields sent change: `{"name": "new name"}` renames."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "hello, renamed"}]}
    )

    name: Name | None = None
    runtime: RuntimeId | None = None
    content: str | None = None
    stdin: str | None = None


class ScriptOut(BaseModel):
    id: str
    name: str
    runtime: str
    content: str
    stdin: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, script: Script) -> "ScriptOut":
        return cls.model_validate(script.model_dump(exclude={"owner"}))


class ScriptPageOut(BaseModel):
    items: list[ScriptOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
