"""Which build ``sitegate rollback`` takes a cluster's site back to, by default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.cluster.coordination import Pointer
from gateway.ops.cluster_rollback import earlier_build
from gateway.ops.rollback import RollbackError


def pointer(build_id: str, history: tuple[str, ...], held_from: str | None = None) -> Pointer:
    return Pointer("a.test", build_id, len(history) + 1, 7, datetime.now(UTC), "host1", held_from, history)


def test_the_default_is_the_build_served_before() -> None:
    assert earlier_build(pointer("c3", ("a1", "b2"))) == "b2"


def test_a_second_rollback_goes_further_back_not_forth_again() -> None:
    # Deployed a1, b2, c3; rolled back to b2 (held from c3): c3 joined the history.
    assert earlier_build(pointer("b2", ("a1", "b2", "c3"), held_from="c3")) == "a1"


def test_nothing_earlier_is_one_clear_error() -> None:
    with pytest.raises(RollbackError, match="no earlier build than a1"):
        earlier_build(pointer("a1", ()))
