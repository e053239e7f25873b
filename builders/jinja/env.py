"""The Jinja environment of one site: where a template name is looked up, which files each
render used, and how a template failure becomes a ``BuildError`` with a file and line.

Lookup order for a name (the first file that exists wins):

* ``shared/<p>``   → the shared library's ``<p>`` only (how an override extends the original)
* ``pages/<p>``    → the site's ``pages/<p>``
* ``layouts/<p>``  → the site's ``layouts/<p>``, its ``components/layouts/<p>``, the shared ``layouts/<p>``
* any other ``<p>``→ the site's ``components/<p>``, the shared ``<p>``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType
from typing import Any

from jinja2 import (
    BaseLoader,
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    StrictUndefined,
    TemplateNotFound,
    meta,
)
from jinja2.bccache import Bucket
from jinja2.exceptions import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from builders.errors import BuildError
from builders.paths import Boundary

Located = tuple[tuple[str, ...], Path | None]
# Jinja names an object by its class ("'builders.jinja.views.SiteView object' has no attribute
# 'x'"); authors know these objects as site, post, data.
_VIEW_NAMES = re.compile(r"'builders\.jinja\.views\.(Site|Post|Data)View object'")


class SiteLoader(BaseLoader):
    """Resolves names site first, shared second, and remembers every path it probed: a missing
    override is a dependency too, since creating it changes what the page renders. A template
    reached through a link must lie in the site or the shared library (``within``)."""

    def __init__(self, site_dir: Path, shared_dir: Path) -> None:
        self._site = site_dir
        self._shared = shared_dir
        self.within = Boundary.of(site_dir, shared_dir)
        self._located: dict[str, Located] = {}
        self.filenames: set[str] = set()

    def candidates(self, name: str) -> list[Path]:
        parts = name.split("/")
        if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
            return []
        head, rest = parts[0], "/".join(parts[1:])
        if head == "shared" and rest:
            return [self._shared / rest]
        if head == "pages" and rest:
            return [self._site / "pages" / rest]
        if head == "layouts" and rest:
            return [self._site / "layouts" / rest, self._site / "components" / name, self._shared / name]
        return [self._site / "components" / name, self._shared / name]

    def locate(self, name: str) -> Located:
        """(paths probed, the file found or ``None``), computed once per name and build."""
        known = self._located.get(name)
        if known is None:
            probed: list[str] = []
            found: Path | None = None
            for path in self.candidates(name):
                probed.append(str(path))
                if self.within.holds(str(path)):
                    found = path
                    break
            known = (tuple(probed), found)
            self._located[name] = known
        return known

    def get_source(self, environment: Environment, name: str) -> tuple[str, str, Callable[[], bool]]:
        _, found = self.locate(name)
        if found is None:
            raise TemplateNotFound(name)
        try:
            source = found.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TemplateNotFound(f"{name} (unreadable: {error})") from None
        self.filenames.add(str(found))
        return source, str(found), lambda: True


class TemplateMemory:
    """What a long-lived builder keeps of one site's templates between builds: compiled code
    and the names each template file refers to. Both are keyed by the template's source text
    (compiled code by its checksum), so an edited template is compiled and read anew and an
    unchanged one never is; environments themselves are not kept, since their templates hold the
    globals of the build that loaded them."""

    def __init__(self) -> None:
        self.code: dict[str, tuple[str, CodeType]] = {}
        self.references: dict[str, tuple[str, tuple[str, ...]]] = {}


class RecordingEnvironment(SandboxedEnvironment):
    """Records in ``recorded`` every template file (and probed override path) a render reaches.

    Sandboxed: a template reaches no attribute starting with ``_`` (``cycler.__init__.__globals__``
    would print the gateway's internals into a published page) and no range over 100,000; it
    costs a cold render of the 1,000-post site no more than the noise (``benchmarks/sandbox_bench.py``).

    Jinja caches imported modules per template, so a macro library imported by the second page
    is not loaded again; the static closure of each template's references (extends, include,
    import) is therefore recorded along with the template itself.
    """

    loader: SiteLoader

    def __init__(self, loader: SiteLoader, cache_dir: Path | None = None, memory: TemplateMemory | None = None) -> None:
        self._memory = memory or TemplateMemory()
        super().__init__(
            loader=loader,
            bytecode_cache=_MemoryBytecodeCache(self._memory.code, _bytecode_cache(cache_dir)),
            undefined=StrictUndefined,
            autoescape=True,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            cache_size=-1,
        )
        self.recorded: set[str] = set()
        self._closures: dict[str, frozenset[str]] = {}
        self.filters["html_attrs"] = html_attrs
        self.filters["date"] = format_date

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Any:
        if isinstance(name, str):
            self._record(self.join_path(name, parent) if parent else name)
        return super().get_template(name, parent, globals)

    def select_template(self, names: Any, parent: str | None = None, globals: Any = None) -> Any:
        if isinstance(names, Iterable) and not isinstance(names, (str, Undefined)):
            names = list(names)
            for name in names:
                if isinstance(name, str):
                    self._record(self.join_path(name, parent) if parent else name)
        return super().select_template(names, parent, globals)

    def _record(self, name: str) -> None:
        self.recorded.update(self.loader.locate(name)[0])
        self.recorded.update(self._closure(name))

    def _closure(self, name: str) -> frozenset[str]:
        known = self._closures.get(name)
        if known is not None:
            return known
        self._closures[name] = frozenset()  # a template that reaches itself stops here
        _, found = self.loader.locate(name)
        paths: set[str] = set()
        if found is not None:
            for reference in self._references(name, found):
                paths.update(self.loader.locate(reference)[0])
                paths.update(self._closure(reference))
        self._closures[name] = frozenset(paths)
        return self._closures[name]

    def _references(self, name: str, found: Path) -> tuple[str, ...]:
        """The template names ``found`` names literally (extends, include, import)."""
        try:
            source = found.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ()  # the render itself reports the problem
        filename = str(found)
        known = self._memory.references.get(filename)
        if known is not None and known[0] == source:
            return known[1]
        try:
            tree = self.parse(source, name, filename)
            names = tuple(reference for reference in meta.find_referenced_templates(tree) if reference is not None)
        except TemplateError:
            names = ()  # the render itself reports the problem, with its line
        self._memory.references[filename] = (source, names)
        return names


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates in memory first, then in the site's cache folder (``disk``)."""

    def __init__(self, code: dict[str, tuple[str, CodeType]], disk: BytecodeCache | None) -> None:
        self._code = code
        self._disk = disk

    def load_bytecode(self, bucket: Bucket) -> None:
        known = self._code.get(bucket.key)
        if known is not None and known[0] == bucket.checksum:
            bucket.code = known[1]
            return
        if self._disk is not None:
            self._disk.load_bytecode(bucket)
            if bucket.code is not None:
                self._code[bucket.key] = (bucket.checksum, bucket.code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is None:
            return
        self._code[bucket.key] = (bucket.checksum, bucket.code)
        if self._disk is not None:
            self._disk.dump_bytecode(bucket)


class _BestEffortBytecodeCache(FileSystemBytecodeCache):
    """A cache that cannot be written (a read-only site folder) only costs a recompile."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            return


def _bytecode_cache(cache_dir: Path | None) -> BytecodeCache | None:
    """Compiled templates kept between builds (Jinja checks each against its source)."""
    if cache_dir is None:
        return None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    # Sandboxed templates compile to other code: bytecode cached before the sandbox must not load.
    return _BestEffortBytecodeCache(str(cache_dir), pattern="__jinja2_sandboxed_%s.cache")


def html_attrs(attributes: dict[str, Any]) -> Markup:
    """``{{ kwargs|html_attrs }}``: extra keyword arguments of a component as HTML attributes,
    ``aria_label`` → ``aria-label``; ``True`` gives a bare attribute, ``False``/``None`` none."""
    parts: list[str] = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        name = str(key).replace("_", "-")
        if not name or any(c in name for c in " \"'<>/=\t\n"):
            raise BuildError(f"{name!r} is not an HTML attribute name")
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return Markup("".join(parts))


def format_date(value: Any, pattern: str = "%B %d, %Y") -> str:
    """``{{ post.date|date }}`` or ``{{ post.date|date('%Y-%m-%d') }}``."""
    return value.strftime(pattern)


def template_error(error: BaseException, label: Callable[[str], str], filenames: set[str]) -> BuildError:
    """A failed render as a ``BuildError`` naming the template file and line where it failed."""
    if isinstance(error, TemplateSyntaxError):
        file = label(error.filename) if error.filename else error.name
        return BuildError(f"template syntax error: {error.message}", file=file, line=error.lineno)
    file, line = _failing_frame(error, filenames)
    if isinstance(error, BuildError):
        message = error.message
        if error.file:
            return error
    elif isinstance(error, TemplateNotFound):
        message = f"template {error.name!r} not found (a site looks in components/ and layouts/, then shared/)"
    elif isinstance(error, UndefinedError):
        message = f"undefined: {_VIEW_NAMES.sub(lambda m: m.group(1).lower(), error.message or '')}"
    elif isinstance(error, RecursionError):
        message = "templates extend, include or import each other in a loop"
    else:
        message = f"{type(error).__name__}: {error}"
    return BuildError(message, file=label(file) if file else None, line=line)


def _failing_frame(error: BaseException, filenames: set[str]) -> tuple[str | None, int | None]:
    """The innermost traceback frame that is template code (Jinja rewrites those frames to
    carry the template's file name and line)."""
    file: str | None = None
    line: int | None = None
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in filenames:
            file, line = name, tb.tb_lineno
        tb = tb.tb_next
    return file, line
