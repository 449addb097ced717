"""The layout of ``sim/``: modules of readable size, imports that flow one way.

Issue 9: no module of ``sim/`` is over :data:`MAX_LINES` lines, and no two modules
import each other, counting imports under ``if TYPE_CHECKING:`` and inside functions.
The package itself (``sim/__init__.py``) is the module ``sim``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parent.parent / "sim"

#: Longest module, in lines.
MAX_LINES = 800

#: The engine keeps the clock, the two passes and the epoch log only (issue 9).
MAX_ENGINE_LINES = 600

#: Modules that may still be longer than MAX_LINES (none).
TOO_LONG_FOR_NOW: frozenset[str] = frozenset()

#: Pairs of modules that may still import each other, each pair sorted (none).
MUTUAL_FOR_NOW: frozenset[tuple[str, str]] = frozenset()


def _modules(root: Path) -> dict[str, Path]:
    """Return every module of the package at ``root`` by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the modules in ``known`` that module ``name`` imports anywhere in its file.

    ``import a.b`` imports ``a.b``; ``from a import b`` imports ``a.b`` when that is a
    module and ``a`` otherwise; ``from a.b import c`` imports ``a.b`` (or ``a.b.c`` when
    that is a module), not the package ``a`` it lives in. Relative imports are resolved.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.add(sub if sub in known else source)
    return {module for module in out if module in known and module != name}


def _graph(root: Path = SIM) -> dict[str, set[str]]:
    """Return, for every module of the package at ``root``, the modules it imports."""
    modules = _modules(root)
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _mutual(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Return the pairs of modules (sorted) that import each other."""
    return {
        (min(a, b), max(a, b)) for a, imported in graph.items() for b in imported if a in graph[b]
    }


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    files = {
        "__init__.py": "from pkg.a import f\n__version__ = '1'\n",
        "a.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from pkg.b import B\n"
            "def f():\n"
            "    from . import c\n"
            "    import pkg.d\n"
        ),
        "b.py": "from .a import f\n",
        "c.py": "from pkg import a as other\n",
        "d.py": "import pkg\n",
        "e.py": "from pkg import __version__\nimport numpy\n",
    }
    for file, text in files.items():
        (pkg / file).write_text(text)
    graph = _graph(pkg)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b", "pkg.c", "pkg.d"},
        "pkg.b": {"pkg.a"},
        "pkg.c": {"pkg.a"},
        "pkg.d": {"pkg"},
        "pkg.e": {"pkg"},
    }
    assert _mutual(graph) == {("pkg.a", "pkg.b"), ("pkg.a", "pkg.c")}


def test_no_module_is_too_long() -> None:
    lengths = {
        path.relative_to(SIM.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules(SIM).values()
    }
    too_long = {
        module: lines
        for module, lines in lengths.items()
        if lines > MAX_LINES and module not in TOO_LONG_FOR_NOW
    }
    assert not too_long, f"split these modules (at most {MAX_LINES} lines each): {too_long}"
    assert lengths["sim/engine.py"] < MAX_ENGINE_LINES, lengths["sim/engine.py"]


def test_no_two_modules_import_each_other() -> None:
    unexpected = _mutual(_graph()) - MUTUAL_FOR_NOW
    assert not unexpected, f"these modules import each other: {sorted(unexpected)}"
