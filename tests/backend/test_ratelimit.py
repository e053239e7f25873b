"""The attempt counter behind the login limit, on a clock the test moves."""

from __future__ import annotations

from shared.backend.ratelimit import AttemptLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attempts_past_the_limit_wait_for_the_window_to_end() -> None:
    clock = Clock()
    limiter = AttemptLimiter(3, 60.0, clock=clock)
    assert [limiter.attempt("k") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert limiter.attempt("k") == 40
    clock.now += 39.5
    assert limiter.attempt("k") == 1
    clock.now += 0.5
    assert limiter.attempt("k") is None


def test_keys_are_counted_apart() -> None:
    limiter = AttemptLimiter(1, 60.0, clock=Clock())
    assert limiter.attempt(("login", "a.example", "198.51.100.1")) is None
    assert limiter.attempt(("login", "a.example", "198.51.100.1")) == 60
    assert limiter.attempt(("login", "b.example", "198.51.100.1")) is None
    assert limiter.attempt(("login", "a.example", "198.51.100.2")) is None


def test_refused_attempts_do_not_extend_the_window() -> None:
    clock = Clock()
    limiter = AttemptLimiter(1, 10.0, clock=clock)
    assert limiter.attempt("k") is None
    for _ in range(5):
        clock.now += 1.9
        assert limiter.attempt("k") is not None
    clock.now += 0.6
    assert limiter.attempt("k") is None
