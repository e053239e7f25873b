"""What a build used: its record, written beside its folder as ``<build id>.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class BuildRecord:
    build_id: str
    dependencies: Mapping[str, frozenset[str]]
    input_digests: Mapping[str, str]
    rendered: tuple[str, ...]
    seconds: float

    def to_json(self) -> str:
        # Each input path once, outputs naming inputs by number: a fraction of the size and
        # time of writing the paths out for every output.
        number: dict[str, int] = {path: index for index, path in enumerate(self.input_digests)}
        dependencies = {
            out: [number.setdefault(path, len(number)) for path in used] for out, used in self.dependencies.items()
        }
        return json.dumps(
            {
                "build_id": self.build_id,
                "inputs": list(number),
                "digests": list(self.input_digests.values()),
                "dependencies": dependencies,
                "rendered": list(self.rendered),
                "seconds": self.seconds,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> BuildRecord:
        data = json.loads(text)
        inputs = data["inputs"]
        return cls(
            build_id=data["build_id"],
            dependencies={out: frozenset(inputs[i] for i in used) for out, used in data["dependencies"].items()},
            input_digests=dict(zip(inputs, data["digests"])),
            rendered=tuple(data["rendered"]),
            seconds=float(data["seconds"]),
        )
