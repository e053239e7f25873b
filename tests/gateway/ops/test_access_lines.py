"""Access lines in batches: what logging would have written, one write per turn of the loop."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from gateway.ops.access_lines import AccessFields, AccessLines
from gateway.ops.log_format import TEXT_FORMAT, JsonFormatter

FIELDS = AccessFields("a.test", "GET", "/x", 200, 5, 0.25, "hit", "static")


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def stream() -> Iterator[CountingStream]:
    """A plain stream handler on the root logger, as configure_logging leaves it."""
    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    root, access = logging.getLogger(), logging.getLogger("sitegate.access")
    levels = root.level, access.level
    root.setLevel(logging.INFO)
    access.setLevel(logging.NOTSET)
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        access.setLevel(levels[1])


async def test_a_turn_of_the_loop_is_one_write_of_logging_s_own_lines(stream: CountingStream) -> None:
    lines = AccessLines(json_lines=False)
    for _ in range(50):
        lines.add(FIELDS)
    await asyncio.sleep(0)
    assert stream.writes == 1
    written = stream.getvalue().splitlines()
    assert len(written) == 50
    expected = logging.Formatter(TEXT_FORMAT).format(logging.makeLogRecord(
        {"name": "sitegate.access", "levelname": "INFO", "levelno": logging.INFO, "msg": FIELDS.message()}
    ))  # fmt: skip
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.sub(pattern, "T", written[0]) == re.sub(pattern, "T", expected)


async def test_json_lines_carry_the_fields_as_keys(stream: CountingStream) -> None:
    lines = AccessLines(json_lines=True)
    lines.add(FIELDS)
    await asyncio.sleep(0)
    entry = json.loads(stream.getvalue())
    formatted = json.loads(JsonFormatter().format(logging.makeLogRecord({"name": "sitegate.access", "msg": "m"})))
    assert set(formatted) <= set(entry)
    assert (entry["logger"], entry["status"], entry["cache"], entry["path"]) == ("sitegate.access", 200, "hit", "/x")
