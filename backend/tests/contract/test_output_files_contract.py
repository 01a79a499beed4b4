"""OutputFileStore contract: the in-process store and MongoDB (FerretDB) keep files the same."""

from sandpod.domain.files import StoredFile
from sandpod.ports import OutputFileStore

PNG = StoredFile(
    name="plots/a.png", content_type="image/png", data=b"\x89PNG\r\n\x1a\n" + bytes(range(256))
)
TEXT = StoredFile(name="report.txt", content_type="text/plain", data="héllo ✓\n".encode())


async def test_files_come_back_byte_for_byte_with_their_type(output_files: OutputFileStore) -> None:
    await output_files.put("ex_1", [PNG, TEXT])
    assert await output_files.get("ex_1", "plots/a.png") == PNG
    assert await output_files.get("ex_1", "report.txt") == TEXT


async def test_files_are_kept_per_execution(output_files: OutputFileStore) -> None:
    await output_files.put("ex_1", [TEXT])
    await output_files.put("ex_2", [PNG])
    assert await output_files.get("ex_2", "report.txt") is None
    assert await output_files.get("ex_1", "plots/a.png") is None
    assert await output_files.get("ex_3", "report.txt") is None


async def test_a_redelivered_run_replaces_what_was_kept(output_files: OutputFileStore) -> None:
    await output_files.put("ex_1", [PNG, TEXT])
    newer = TEXT.model_copy(update={"data": b"second run\n"})
    await output_files.put("ex_1", [newer])
    assert await output_files.get("ex_1", "report.txt") == newer
    assert await output_files.get("ex_1", "plots/a.png") is None
    await output_files.put("ex_1", [])
    assert await output_files.get("ex_1", "report.txt") is None
