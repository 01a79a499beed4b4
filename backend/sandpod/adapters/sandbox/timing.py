"""Where a sandbox's time goes: named laps, for `make bench-cold` and anyone who asks."""

import time
from collections.abc import Callable, Mapping

Laps = Mapping[str, float]  # step name -> seconds, in the order the steps happened
OnLaps = Callable[[Laps], None]


class Stopwatch:
    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """The time since the previous lap, under `name` (added up if a step repeats)."""
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now
