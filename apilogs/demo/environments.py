"""Lambda execution environments: an environment (one log stream) serves one invocation at a time
and is reused while traffic keeps it warm; a new one is a cold start."""

from __future__ import annotations

import random
from dataclasses import dataclass

from apilogs.demo.formats import Ids, utc
from apilogs.demo.sample import SampleFunction


@dataclass(slots=True)
class Environment:
    stream: str
    created_ms: int
    free_at_ms: int  # end of its last invocation: it cannot start another one before
    idle_limit_ms: int
    lifetime_ms: int
    max_memory_mb: int = 0  # REPORT's Max Memory Used is the environment's high-water mark


class EnvironmentPool:
    """The execution environments of one function: one log stream each."""

    def __init__(self, function: SampleFunction, rng: random.Random, ids: Ids) -> None:
        self._function = function
        self._rng = rng
        self._ids = ids
        self._environments: list[Environment] = []

    def acquire(self, t_ms: int) -> tuple[Environment, bool]:
        """An idle warm environment, or a new one (a cold start); never one busy at t_ms."""
        self._environments = [
            e
            for e in self._environments
            if t_ms - e.created_ms < e.lifetime_ms and t_ms - e.free_at_ms < e.idle_limit_ms
        ]
        idle = [e for e in self._environments if e.free_at_ms <= t_ms]
        if idle:
            return max(idle, key=lambda e: e.free_at_ms), False
        fn = self._function
        # Custom log groups may be shared, so their streams carry the function's name.
        prefix = fn.name if fn.shares_log_group else ""
        environment = Environment(
            stream=f"{utc(t_ms):%Y/%m/%d}/{prefix}[{fn.version}]{self._ids.hex(32)}",
            created_ms=t_ms,
            free_at_ms=t_ms,
            # Lambda reclaims idle environments after minutes and recycles all within hours.
            idle_limit_ms=self._rng.randint(5, 15) * 60_000,
            lifetime_ms=self._rng.randint(40, 130) * 60_000,
        )
        self._environments.append(environment)
        return environment, True

    def retire(self, environment: Environment) -> None:
        """After a crash or a timeout Lambda does not reuse the environment."""
        if environment in self._environments:
            self._environments.remove(environment)
