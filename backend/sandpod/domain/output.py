"""Live output: what a running execution writes, as ordered, bounded chunks.

Chunks are numbered per execution from 1 with no gaps (`seq`), stdout and stderr interleaved in
the order the runner read them. Their texts, joined per stream, are the result's stdout and
stderr: the same output cap cuts both, and the chunk where it cut says `truncated`.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OutputStream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


class OutputChunk(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: OutputStream
    seq: int = Field(ge=1, description="Per execution, from 1, without gaps.")
    text: str
    truncated: bool = Field(
        False, description="True on the chunk where the output cap cut the stream."
    )


def split_text(text: str, most: int) -> list[str]:
    """`text` in pieces of at most `most` characters (one empty piece for empty text)."""
    return [text[start : start + most] for start in range(0, len(text), most)] or [""]
