import pytest

from sandpod.domain.status import (
    TERMINAL_STATUSES,
    ExecutionStatus,
    IllegalTransitionError,
    allowed_sources,
    can_transition,
    check_transition,
)

S = ExecutionStatus


@pytest.mark.parametrize("target", [S.RUNNING, *sorted(TERMINAL_STATUSES)])
def test_queued_can_move_to_running_or_any_terminal(target: ExecutionStatus) -> None:
    assert can_transition(S.QUEUED, target)


@pytest.mark.parametrize("target", sorted(TERMINAL_STATUSES))
def test_running_can_only_end(target: ExecutionStatus) -> None:
    assert can_transition(S.RUNNING, target)
    assert not can_transition(S.RUNNING, S.QUEUED)
    assert not can_transition(S.RUNNING, S.RUNNING)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("target", list(S))
def test_terminal_states_are_final(terminal: ExecutionStatus, target: ExecutionStatus) -> None:
    assert terminal.is_terminal
    with pytest.raises(IllegalTransitionError, match=f"from {terminal} to {target}"):
        check_transition(terminal, target)


def test_allowed_sources_matches_the_machine() -> None:
    assert allowed_sources(S.RUNNING) == {S.QUEUED}
    assert allowed_sources(S.COMPLETED) == {S.QUEUED, S.RUNNING}
    assert allowed_sources(S.QUEUED) == set()
