"""Where a build may read through links: a site's author controls its files, links included,
and a build that followed ``public/passwd`` → ``/etc/passwd`` would publish the gateway's files.

Like GitLab Pages, which resolves every path inside the deployment's root, each link a build
meets is resolved, and one that leads outside the folders the build may read, or to nothing,
is a ``BuildError`` naming the link. A link that stays inside is followed as before.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from builders.errors import BuildError


@dataclass(frozen=True)
class Boundary:
    """``roots`` are the real paths (each ending in a separator) links may lead into;
    ``labels`` (folder, prefix) name a path in an error; ``outside`` names what lies beyond."""

    roots: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    outside: str

    @classmethod
    def of(cls, site_dir: Path | str, shared_dir: Path | str | None = None) -> Boundary:
        """A site's own files and, for a Jinja site, the shared component library (named
        ``shared/…`` in errors, as template errors name it)."""
        folders = [(site_dir, "")] + ([(shared_dir, "shared/")] if shared_dir is not None else [])
        return cls(
            roots=tuple(_root(folder) for folder, _ in folders),
            labels=tuple((os.path.abspath(folder), prefix) for folder, prefix in folders),
            outside="the site",
        )

    @classmethod
    def output(cls, folder: Path | str, labels_from: Path | str, shown: str) -> Boundary:
        """What a build command wrote to ``folder`` (``shown`` in errors): its links stay in it,
        since the command runs code sitegate does not control. Errors name paths relative to
        ``labels_from``."""
        return cls(roots=(_root(folder),), labels=((os.path.abspath(labels_from), ""),), outside=shown)

    def resolve(self, path: str) -> str:
        """The real path ``path`` names, its links followed: ``BuildError`` when that is
        nothing or lies outside the roots."""
        try:
            real = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            raise BuildError("a link to something that does not exist", file=self.label(path)) from None
        except OSError as error:
            raise BuildError(f"a link that cannot be followed: {error.strerror}", file=self.label(path)) from None
        if not (real + os.sep).startswith(self.roots):
            message = f"a link that points outside {self.outside}; a build follows links only inside it"
            raise BuildError(message, file=self.label(path))
        return real

    def holds(self, path: str) -> bool:
        """Whether ``path`` is a file the build may read: False when there is none, a
        ``BuildError`` when a link leads it outside or to nothing."""
        if not os.path.isfile(path):
            if os.path.islink(path):
                self.resolve(path)  # one to nothing or outside raises; one to a folder is no file
            return False
        self.resolve(path)
        return True

    def linked_file(self, link: str) -> bool:
        """Whether the link ``link`` leads to a regular file (links to folders are not followed);
        ``BuildError`` when it leads outside or to nothing."""
        return stat.S_ISREG(os.stat(self.resolve(link)).st_mode)

    def label(self, path: str) -> str:
        absolute = os.path.abspath(path)
        for folder, prefix in self.labels:
            if absolute.startswith(folder + os.sep):
                return prefix + absolute[len(folder) + 1 :].replace(os.sep, "/")
        return absolute


def _root(folder: Path | str) -> str:
    return os.path.join(os.path.realpath(folder), "")
