"""Files a submission carries in, and files a program leaves behind: names, encodings, caps."""

import base64
import binascii
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandpod.domain.errors import InvalidInputError

# Where a program writes the files it wants kept (inside the sandbox's size-capped /tmp).
OUTPUT_DIR = "/tmp/out"  # noqa: S108  # nosec B108 (a path inside the sandbox)
MAX_NAME_LENGTH = 255
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,99}$")
# Names Windows treats as devices: a file called so cannot be written or read back there.
_DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))} | {
    f"lpt{i}" for i in range(10)
}


class FieldError(InvalidInputError):
    """One field of a request is unacceptable; `field` names it (e.g. files.2.name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def field_errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": str(self)}]


def check_file_name(name: str, field: str) -> str:
    """A relative path of plain parts: no absolute path, no `..`, no hidden or device names."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise FieldError(field, f"a file name has 1 to {MAX_NAME_LENGTH} characters")
    if name.startswith("/"):
        raise FieldError(field, f"{name!r} is an absolute path; give a relative one")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise FieldError(field, f"{name!r} has an empty, '.' or '..' part")
        if not _PART.match(part):
            raise FieldError(
                field,
                f"{name!r}: each part is letters, digits, '.', '_', '+' or '-', not starting "
                "with '.' or '-'",
            )
        if part.split(".", 1)[0].lower() in _DEVICE_NAMES:
            raise FieldError(field, f"{name!r} uses a device name ({part})")
    return name


class SourceFile(BaseModel):
    """One submitted file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="Relative path inside the program's folder, e.g. `lib/util.py`.",
    )
    content: str = Field(description="The file's content, as `encoding` says.")
    encoding: Literal["utf-8", "base64"] = Field("utf-8", description="How `content` is written.")

    def data(self) -> bytes:
        """The file's bytes; ValueError when base64 content does not decode."""
        if self.encoding == "utf-8":
            return self.content.encode("utf-8")
        try:
            return base64.b64decode(self.content, validate=True)
        except binascii.Error as error:
            raise ValueError(f"content is not valid base64: {error}") from error


class OutputFile(BaseModel):
    """A file the program left under OUTPUT_DIR and the platform kept."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Path relative to the output folder.")
    size: int = Field(description="Bytes.")
    content_type: str


class StoredFile(BaseModel):
    """An output file with its bytes, as the file store keeps it."""

    model_config = ConfigDict(frozen=True)

    name: str
    content_type: str
    data: bytes

    def info(self) -> OutputFile:
        return OutputFile(name=self.name, size=len(self.data), content_type=self.content_type)
