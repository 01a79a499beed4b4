"""Which offsets a consumer may commit when its handlers finish out of order.

Per partition: the offsets fetched and not handled yet. Everything below the lowest of them was
handled, so that is the commit position; with none pending, it is one past the highest fetched.
Revoking a partition forgets it: a handler still running for it no longer moves anything, and if
the partition comes back it starts afresh from what the group committed.
"""

from aiokafka import TopicPartition


class PartitionOffsets:
    """One partition's fetched-but-unhandled offsets, for one assignment of it."""

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.next_offset = 0  # one past the highest offset fetched
        self.committed: int | None = None

    def fetched(self, offset: int) -> None:
        self.pending.add(offset)
        self.next_offset = max(self.next_offset, offset + 1)

    def handled(self, offset: int) -> None:
        self.pending.discard(offset)

    def position(self) -> int:
        """The offset to commit: every offset below it was handled."""
        return min(self.pending) if self.pending else self.next_offset


class OffsetWindow:
    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, PartitionOffsets] = {}

    def fetched(self, partition: TopicPartition, offset: int) -> PartitionOffsets:
        """Track a fetched record; call handled() on the returned object once it is handled."""
        offsets = self._partitions.setdefault(partition, PartitionOffsets())
        offsets.fetched(offset)
        return offsets

    def committable(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        """Commit positions of these partitions that moved since their last commit."""
        positions = {}
        for partition in partitions:
            offsets = self._partitions.get(partition)
            if offsets is not None and offsets.position() != offsets.committed:
                positions[partition] = offsets.position()
        return positions

    def committed(self, positions: dict[TopicPartition, int]) -> None:
        for partition, position in positions.items():
            offsets = self._partitions.get(partition)
            if offsets is not None:
                offsets.committed = max(position, offsets.committed or 0)

    def forget(self, partitions: set[TopicPartition]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)
