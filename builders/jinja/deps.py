"""Whether an output of the previous build can be reused as it is.

A dependency is the absolute path of an input file, or of a folder ending in the path
separator, which stands for the *set* of files in it (a listing depends on which posts exist).
A path that does not exist is a dependency too (an override that may be created later): it is
unchanged while it stays absent. Something that is no file at all (data fetched from the backend)
is named ``<file>#sitegate-<what>@<digest>``: unchanged while this build has the same name.
What a listing shows of a content file, all of it but the body, is such a name too
(``<file>#sitegate-meta@<digest>``), so an edit to a post's body leaves its listings alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cached_property

from builders.base import PreviousBuild

VIRTUAL_MARK = "#sitegate-"
META_MARK = VIRTUAL_MARK + "meta@"


def content_id(dependency: str) -> str:
    """The content file (or token) a dependency is about, whichever part of it was used."""
    return dependency.split(META_MARK, 1)[0]


class ReuseCheck:
    """Judges outputs against the previous build. A dependency starting with one of
    ``content_prefixes`` is content handed to pages as data (a post: a file of the posts folder,
    or the token of a post from backend data); ``published`` is the content this build publishes.

    What changed is worked out once, so judging one output costs a few set operations whatever
    the number of its inputs: a site of thousands of pages is judged on every edit."""

    def __init__(
        self,
        previous: PreviousBuild | None,
        digests: Mapping[str, str],
        content_prefixes: tuple[str, ...],
        published: Iterable[str],
        virtual: Iterable[str] = (),
    ) -> None:
        self._previous = previous if digests else None
        self._published = frozenset(published)
        self._changed: frozenset[str] = frozenset()
        self._content: frozenset[str] = frozenset()
        if self._previous is not None:
            every_input = frozenset().union(*self._previous.dependencies.values())
            self._changed = _changed_inputs(every_input, self._previous.input_digests, digests, frozenset(virtual))
            self._content = frozenset(
                path for path in every_input if path.startswith(content_prefixes) and not path.endswith(os.sep)
            )

    @property
    def enabled(self) -> bool:
        return self._previous is not None

    def previous_outputs(self) -> frozenset[str]:
        return frozenset(self._previous.dependencies) if self._previous is not None else frozenset()

    def reusable_dependencies(self, output: str, assigned: frozenset[str] = frozenset()) -> frozenset[str] | None:
        """What ``output`` used, when all of it is unchanged and it would be given the same
        content files: the ones ``assigned`` to it now, or every published one if it read them
        all; None when it must be made anew. A page may have used a content file's listing part,
        its whole text, or both."""
        if self._previous is None:
            return None
        dependencies = self._previous.dependencies.get(output)
        if dependencies is None or not self._changed.isdisjoint(dependencies):
            return None
        content = self._content.intersection(dependencies)
        if content == assigned or content == self._published:
            return dependencies
        used = frozenset(map(content_id, content))
        if used == frozenset(map(content_id, assigned)) or used == self._published_ids:
            return dependencies
        return None

    @cached_property
    def _published_ids(self) -> frozenset[str]:
        return frozenset(map(content_id, self._published))


def _changed_inputs(
    every_input: frozenset[str], before: Mapping[str, str], now: Mapping[str, str], virtual: frozenset[str]
) -> frozenset[str]:
    """The dependencies among ``every_input`` that no longer hold: files edited, created or
    deleted, folders that gained or lost a file, and virtual inputs this build does not have."""
    changed = {path for path, digest in now.items() if before.get(path) != digest}
    gone = {path for path in before if path not in now}
    created_or_gone = {path for path in changed if path not in before} | gone
    changed |= gone
    for path in every_input:
        if VIRTUAL_MARK in path:
            if path not in virtual:
                changed.add(path)
        elif path.endswith(os.sep) and any(file.startswith(path) for file in created_or_gone):
            changed.add(path)
    return frozenset(changed)


def outputs_affected_by(dependencies: Mapping[str, Iterable[str]], path: str) -> set[str]:
    """The outputs a change to ``path`` (created, edited or deleted) would make anew: those
    that used it, probed for it, or depend on the set of files in a folder that holds it."""
    return {
        output
        for output, inputs in dependencies.items()
        if any(dep == path or (dep.endswith(os.sep) and path.startswith(dep)) for dep in inputs)
    }
