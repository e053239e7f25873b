"""How a build fails. Its own module, so that everything under ``builders`` can raise these
without importing what builds (``base`` knows the workers, which know the deadline)."""

from __future__ import annotations


class BuildError(Exception):
    """A build that cannot finish; ``file`` and ``line`` point at the cause when known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.log = log

    def __str__(self) -> str:
        where = self.file or ""
        if where and self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


STOPPED = "the build was stopped: the gateway is shutting down"


class BuildTimedOut(BuildError):
    """Raised in a build's thread by its deadline. The interpreter makes it with no arguments."""

    def __init__(self) -> None:
        super().__init__("the build took longer than its time limit (`timeout` in site.toml)")


class BuildStopped(BuildError):
    """Raised in a build's thread when the gateway stops."""

    def __init__(self) -> None:
        super().__init__(STOPPED)
