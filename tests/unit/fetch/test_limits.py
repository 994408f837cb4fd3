"""The shared rate limiter and colour choice: pure, with an injected clock and environment."""

from __future__ import annotations

import io

from apilogs.aws import RateLimiter
from apilogs.render.style import Painter, color_enabled


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_limiter_keeps_to_its_rate_after_the_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(5, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4 + 50):
        limiter.acquire()
    # A burst of 4 (one short of the quota's 5), then 50 more at 95 % of 5 per second.
    assert 50 / 4.75 - 0.1 <= fake.now - 1000.0 <= 50 / 4.75 + 0.1
    assert limiter.requests == 54
    assert limiter.configured == 5


def test_a_throttle_slows_the_rate_and_it_recovers() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4, clock=fake.clock, sleep=fake.sleep)
    full = limiter.rate
    assert full == 4 * RateLimiter.MARGIN
    limiter.slow_down()
    assert limiter.rate == full * 0.7 and limiter.throttles == 1
    for _ in range(10):
        limiter.acquire()
    assert full * 0.7 < limiter.rate < full  # recovering, slowly
    for _ in range(100):
        limiter.acquire()
    assert limiter.rate == full  # 20 s without throttles: back to full speed


def test_zero_means_unlimited() -> None:
    fake = FakeTime()
    limiter = RateLimiter(0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(1000):
        limiter.acquire()
    assert fake.now == 1000.0


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_color_choice() -> None:
    assert color_enabled("auto", Tty(), {}) is True
    assert color_enabled("auto", io.StringIO(), {}) is False  # a pipe
    assert color_enabled("auto", Tty(), {"NO_COLOR": "1"}) is False
    assert color_enabled("auto", io.StringIO(), {"FORCE_COLOR": "1"}) is True
    assert color_enabled("auto", Tty(), {"TERM": "dumb"}) is False
    assert color_enabled("always", io.StringIO(), {"NO_COLOR": "1"}) is True
    assert color_enabled("never", Tty(), {"FORCE_COLOR": "1"}) is False
    assert Painter(False)("x", "31") == "x"
    assert Painter(True)("x", "31", "1") == "\x1b[31;1mx\x1b[0m"
