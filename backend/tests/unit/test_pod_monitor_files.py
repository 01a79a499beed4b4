"""The pod monitor role keeps the files a pod sent back before it publishes the result, which then
carries their names only; a file store that is down costs the files, never the result."""

from collections.abc import Sequence

from sandpod.adapters.memory.output_files import InMemoryOutputFiles
from sandpod.composition.pod_monitor import files_kept
from sandpod.domain.events import ExecutionFinished
from sandpod.domain.files import StoredFile
from sandpod.domain.result import EndReason, Result
from sandpod.ports import ServiceUnavailableError

PLOT = StoredFile(name="plot.png", content_type="image/png", data=b"\x89PNG")


def finished_with_files() -> ExecutionFinished:
    result = Result(end_reason=EndReason.COMPLETED, exit_code=0)
    return ExecutionFinished(
        execution_id="ex_1", result=result.with_stored_files([PLOT], truncated=False)
    )


async def test_the_files_are_stored_and_the_event_carries_their_names_only() -> None:
    files = InMemoryOutputFiles()

    event = await files_kept(files, finished_with_files())

    assert await files.get("ex_1", "plot.png") == PLOT
    assert [item.name for item in event.result.files] == ["plot.png"]
    assert event.result.stored_files == ()
    assert not event.result.files_truncated


class DownFiles:
    async def put(self, execution_id: str, files: Sequence[StoredFile]) -> None:
        raise ServiceUnavailableError("mongo is down")

    async def get(self, execution_id: str, name: str) -> StoredFile | None:
        return None


async def test_a_file_store_that_is_down_loses_the_files_and_says_so() -> None:
    event = await files_kept(DownFiles(), finished_with_files())

    assert event.result.end_reason is EndReason.COMPLETED
    assert event.result.files == []
    assert event.result.files_truncated
    assert event.result.message is not None
    assert "output files lost: mongo is down" in event.result.message
