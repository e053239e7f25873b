"""The invariants of ARCHITECTURE.md that the source itself can show: no import circles, rooms
that import only what they may, small modules, one reader of the environment."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "builders", "shared")
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str) -> Iterator[str]:
    """The project modules ``name`` imports anywhere in it: at the top, in functions, or only
    for type checking (a circle through those still ties the modules together)."""
    known = modules()
    path = known[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target in known and target != name)


def import_graph() -> dict[str, set[str]]:
    return {name: set(imported(name)) for name in modules()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in on_path:
            return path[path.index(name) :] + [name]
        if name in done:
            return None
        path.append(name)
        on_path.add(name)
        for target in sorted(graph[name]):
            if circle := visit(target):
                return circle
        path.pop()
        on_path.discard(name)
        done.add(name)
        return None

    for name in sorted(graph):
        if circle := visit(name):
            return circle
    return None


def test_there_is_no_import_circle() -> None:
    circle = find_circle(import_graph())
    assert circle is None, " → ".join(circle or [])


def test_the_circle_finder_finds_one() -> None:
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# What each room may import of the project besides itself, as ARCHITECTURE.md's code map says.
MAY_IMPORT = {
    "gateway.sites": ("gateway.config", "gateway.keys", "gateway.serving.pages", "builders.base"),
    "gateway.building": ("gateway.config", "gateway.sites", "gateway.serving", "builders"),
    "gateway.serving": (),
    "gateway.forwarding": ("gateway.config", "gateway.sites", "gateway.serving.negotiation"),
    # Operating sitegate reads the rooms; none of them imports it (app, cli and keys wire it in).
    # nginx-config takes the serving policy (types, cache headers, rules) from serving itself.
    "gateway.ops": (
        "gateway.config", "gateway.keys", "gateway.sites", "gateway.building", "gateway.forwarding",
        "gateway.serving", "gateway.cluster", "builders",
    ),
    # Several gateways sharing builds: a build manager's round decides between the cluster's
    # build and one made here; it reads the configuration and the building room, nothing else.
    "gateway.cluster": ("gateway.config", "gateway.building", "builders.errors"),
    "builders": (),
    "shared.backend": ("gateway.config",),
}


def test_each_room_imports_only_what_the_map_allows() -> None:
    wrong = {}
    for name in modules():
        room = next((room for room in MAY_IMPORT if name == room or name.startswith(room + ".")), None)
        if room is None:
            continue
        allowed = (room, *MAY_IMPORT[room])
        outside = sorted(t for t in imported(name) if not any(t == a or t.startswith(a + ".") for a in allowed))
        if outside:
            wrong[name] = outside
    assert wrong == {}


def test_builders_know_no_http() -> None:
    for name, path in modules().items():
        if name.startswith("builders"):
            source = path.read_text()
            assert "import aiohttp" not in source and "from aiohttp" not in source, name


def test_only_config_reads_the_environment() -> None:
    readers = set()
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                readers.add(name)
    assert readers == {"gateway.config"}


def test_every_module_is_small() -> None:
    long = {name: lines for name, path in modules().items() if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_package_says_what_it_is_for() -> None:
    for name, path in modules().items():
        if path.name == "__init__.py":
            assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no docstring"
