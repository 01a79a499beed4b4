"""The Kafka consumer's commit positions when handlers finish out of order (no I/O)."""

from aiokafka import TopicPartition

from sandpod.adapters.kafka.offsets import OffsetWindow

P0 = TopicPartition("t", 0)
P1 = TopicPartition("t", 1)


def test_the_position_stops_at_the_lowest_unhandled_offset() -> None:
    window = OffsetWindow()
    offsets = window.fetched(P0, 10)
    for offset in range(11, 16):
        window.fetched(P0, offset)

    for offset in (10, 11, 13, 14, 15):
        offsets.handled(offset)

    assert window.committable({P0}) == {P0: 12}
    offsets.handled(12)
    assert window.committable({P0}) == {P0: 16}


def test_only_moved_positions_of_the_asked_partitions_are_committable() -> None:
    window = OffsetWindow()
    window.fetched(P0, 3).handled(3)
    window.fetched(P1, 7).handled(7)

    assert window.committable({P0}) == {P0: 4}
    window.committed({P0: 4})
    assert window.committable({P0, P1}) == {P1: 8}
    assert window.committable({TopicPartition("t", 2)}) == {}


def test_a_forgotten_partition_ignores_its_late_handlers_and_starts_afresh() -> None:
    window = OffsetWindow()
    old = window.fetched(P0, 5)
    window.forget({P0})

    renewed = window.fetched(P0, 5)
    old.handled(5)  # a handler of the revoked assignment finishing late

    assert window.committable({P0}) == {P0: 5}
    renewed.handled(5)
    assert window.committable({P0}) == {P0: 6}
