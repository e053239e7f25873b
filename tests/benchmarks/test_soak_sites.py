"""The soak's check for half-published builds catches one (``benchmarks/soak_sites.py``)."""

from __future__ import annotations

from benchmarks.soak_sites import (
    Ledger,
    data_text,
    page_generation,
    range_generation,
    static_page,
)


def test_a_page_is_one_generation_only_when_complete_and_consistent() -> None:
    page = static_page("/", 7)
    assert page_generation(page) == 7
    assert page_generation(page[: len(page) // 2]) is None
    assert page_generation(page.replace(b"soak-generation 7", b"soak-generation 6")) is None


def test_a_byte_range_is_matched_to_its_generation() -> None:
    body = data_text(12)[1000:1200]
    assert range_generation(body, 1000, range(10, 14)) == 12
    assert range_generation(body, 1001, range(10, 14)) is None
    assert range_generation(body, 1000, range(13, 20)) is None


def test_an_older_generation_after_a_newer_one_is_a_half_build() -> None:
    ledger = Ledger(("a.test",))
    ledger.written["a.test"] = 2
    assert ledger.saw("a.test", 2, ledger.floor("a.test")) is None
    floor = ledger.floor("a.test")
    assert ledger.saw("a.test", 1, floor) == "a.test: generation 1 served after 2 had been"
    assert ledger.saw("a.test", 3, floor) == "a.test: generation 3 served before it was written"
