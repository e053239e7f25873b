"""Whether an output of the previous build can be reused as it is.

A dependency is the absolute path of an input file, or of a folder ending in the path
separator, which stands for the *set* of files in it (a listing depends on which posts exist).
A path that does not exist is a dependency too (an override that may be created later): it is
unchanged while it stays absent. Something that is no file at all (data fetched from the backend)
is named ``<file>#sitegate-<what>@<digest>``: unchanged while this build has the same name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from builders.base import PreviousBuild

VIRTUAL_MARK = "#sitegate-"


class ReuseCheck:
    """Judges outputs against the previous build. ``content_dir`` is the folder whose files are
    handed to pages as data (the posts); ``published`` are those of them this build publishes."""

    def __init__(
        self,
        previous: PreviousBuild | None,
        digests: Mapping[str, str],
        content_dir: str,
        published: Iterable[str],
        virtual: Iterable[str] = (),
    ) -> None:
        self._previous = previous if digests else None
        self._digests = digests
        self._content_prefix = content_dir + os.sep
        self._published = frozenset(published)
        self._virtual = frozenset(virtual)
        self._sets: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._verdicts: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        return self._previous is not None

    def previous_dependencies(self, output: str) -> frozenset[str] | None:
        if self._previous is None:
            return None
        found = self._previous.dependencies.get(output)
        return frozenset(found) if found is not None else None

    def previous_outputs(self) -> frozenset[str]:
        return frozenset(self._previous.dependencies) if self._previous is not None else frozenset()

    def reusable(self, output: str, assigned: frozenset[str] = frozenset()) -> bool:
        """True when every input ``output`` used is unchanged and it would be given the same
        content files: the ones ``assigned`` to it now, or every published one if it read them all."""
        dependencies = self.previous_dependencies(output)
        if dependencies is None:
            return False
        if not all(self._unchanged(path) for path in dependencies):
            return False
        content = frozenset(
            path for path in dependencies if path.startswith(self._content_prefix) and not path.endswith(os.sep)
        )
        return content in (assigned, self._published)

    def _unchanged(self, path: str) -> bool:
        verdict = self._verdicts.get(path)
        if verdict is None:
            assert self._previous is not None
            if VIRTUAL_MARK in path:
                verdict = path in self._virtual
            elif path.endswith(os.sep):
                before, now = self._file_sets(path)
                verdict = before == now
            else:
                verdict = self._previous.input_digests.get(path) == self._digests.get(path)
            self._verdicts[path] = verdict
        return verdict

    def _file_sets(self, folder: str) -> tuple[frozenset[str], frozenset[str]]:
        known = self._sets.get(folder)
        if known is None:
            assert self._previous is not None
            known = (
                frozenset(p for p in self._previous.input_digests if p.startswith(folder)),
                frozenset(p for p in self._digests if p.startswith(folder)),
            )
            self._sets[folder] = known
        return known


def outputs_affected_by(dependencies: Mapping[str, Iterable[str]], path: str) -> set[str]:
    """The outputs a change to ``path`` (created, edited or deleted) would make anew: those
    that used it, probed for it, or depend on the set of files in a folder that holds it."""
    return {
        output
        for output, inputs in dependencies.items()
        if any(dep == path or (dep.endswith(os.sep) and path.startswith(dep)) for dep in inputs)
    }
