"""Reading scenario files safely: size and node limits, YAML 1.2 numbers, ``extends`` chains.

Scenario files may come from anyone. A file is refused before it is parsed if it is
too large, while it is composed if it holds too many nodes (aliases expanded) or nests
too deep, and before Python objects are built if it uses a non-standard tag, repeats a
key or holds an impossible date. ``extends`` chains are bounded and must stay in the
folder of the file the user named. Each problem is an :class:`~sim.errors.InputError`
naming the file and the YAML path.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError
from sim.scenario_text import Doc, show, show_text, yaml_path

# ----------------------------------------------------------------------------- limits
# Scenario files may come from anyone. These limits are checked while a file is read,
# before anything expensive is built from it; every one is stated in its error message.

#: Largest scenario YAML file, in bytes (checked before the file is parsed).
MAX_YAML_BYTES = 1_000_000
#: Most YAML nodes (keys, values and items) in one file, counted with every alias
#: expanded, as the file is composed: this stops "billion laughs" files early.
MAX_YAML_NODES = 20_000
#: Deepest nesting of mappings and lists in one file (aliases expanded).
MAX_YAML_DEPTH = 50
#: Most base files in an ``extends`` chain (steps from the file the user named to its last base).
MAX_EXTENDS_DEPTH = 10


def read_chain(path: Path) -> list[Doc]:
    """Read the scenario file ``path`` and its ``extends`` chain, child first.

    Base files must resolve inside the folder of ``path``; table paths of base files in
    other folders are made relative to it.
    """
    doc = Doc(str(path), read_yaml(path, str(path)), path.resolve())
    return expand(doc, path.parent, path.parent, (path.resolve(),))


def expand(
    doc: Doc, folder: Path, top: Path, stack: tuple[Path, ...], labels: tuple[str, ...] = ()
) -> list[Doc]:
    """Return the ``extends`` chain starting at ``doc`` (in ``folder``), child first."""
    doc = Doc(doc.label, _rebase_paths(doc.data, folder, top), doc.file)
    target = doc.data.get("extends")
    if target is None:
        return [doc]
    if not isinstance(target, str) or not target.strip():
        raise InputError(
            doc.label,
            "extends",
            f"{show(target)} is not a file path",
            "give the path of the base scenario, relative to this file",
        )
    file = folder / target
    if not inside(top, file):
        raise InputError(
            doc.label,
            "extends",
            f"{show(target)} is outside the folder of the scenario file",
            "keep base scenarios in the folder of the scenario you load, or below it "
            "(symbolic links are followed)",
        )
    label = os.path.normpath(str(Path(doc.label).parent / target))
    labels = (*labels, doc.label)
    if file.resolve() in stack:
        cycle = " -> ".join(show_text(x, 60) for x in (*labels, label))
        raise InputError(
            doc.label, "extends", f"extends cycle ({cycle})", "remove the extends that loops back"
        )
    if len(labels) > MAX_EXTENDS_DEPTH:
        raise InputError(
            doc.label,
            "extends",
            f"the extends chain has more than {MAX_EXTENDS_DEPTH} base files (counted from "
            f"{show_text(labels[0], 60)})",
            "merge some of the base scenarios into one",
        )
    if not file.is_file():
        raise InputError(
            doc.label,
            "extends",
            f"file {show(target)} not found",
            f"give the path of the base scenario relative to {Path(doc.label).name}",
        )
    base = Doc(label, read_yaml(file, label), file.resolve())
    return [doc, *expand(base, file.parent, top, (*stack, file.resolve()), labels)]


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` resolves (symbolic links followed) to ``root`` or below it."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symbolic link loop
        return False


def _rebase_paths(data: dict[str, Any], folder: Path, top: Path) -> dict[str, Any]:
    """Make the table paths of a base file relative to the top file's folder."""
    world = data.get("world")
    if folder.resolve() == top.resolve() or not isinstance(world, dict):
        return data
    world = dict(world)
    for name, entry in world.items():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            if not Path(entry["path"]).is_absolute():
                rel = os.path.relpath(folder.resolve() / entry["path"], top.resolve())
                world[name] = {**entry, "path": rel}
    return {**data, "world": world}


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings merge key by key, the rest is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return over


_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: Longest whole number read (Python refuses to convert 4300 digits and more; every
#: integer field of a scenario is far below 2**63, 19 digits).
_MAX_INT_CHARS = 40

#: Floats that YAML 1.2 reads as numbers but PyYAML's YAML 1.1 rules read as strings:
#: an exponent without a sign or without a decimal point (``1e6``, ``5e-1``, ``2.5E3``),
#: and a signed number with only a fractional part (``-.5``, ``.5e3``).
_FLOAT_12 = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?)$"
)


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats, checking the limits while it composes.

    Composing counts every node, with each alias counted as the nodes it stands for,
    and tracks the nesting depth (an alias adds the depth of its target), so that a
    file over :data:`MAX_YAML_NODES` or :data:`MAX_YAML_DEPTH` is refused before it is
    fully read, and long before Python objects are built from it. An alias to a node
    that is still being composed (a recursive structure) is refused too.
    """

    def __init__(self, text: str, label: str) -> None:
        super().__init__(text)
        self.label = label
        self._path: list[str | int] = []
        self._depth = 0
        self._deepest = 0
        self._count = 0
        #: Expanded node count and height of each finished anchored node.
        self._anchored: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose one node (PyYAML's method), counting it and checking the limits."""
        if isinstance(index, yaml.ScalarNode):
            self._path.append(str(index.value))
        elif isinstance(index, int):
            self._path.append(index)
        elif index is not None:
            self._path.append("?")
        try:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = self.anchors.get(event.anchor)
                if target is not None:  # otherwise PyYAML reports the undefined alias
                    size_height = self._anchored.get(id(target))
                    if size_height is None:
                        raise self._refuse(
                            event,
                            "the alias refers to a node that contains it (a recursive structure)",
                            "remove the alias, or point it at a mapping or list that is "
                            "complete before it",
                        )
                    self._grow(size_height[0], event)
                    self._reach(self._depth + size_height[1], event)
                node: yaml.Node = super().compose_node(parent, index)
                return node
            event = self.peek_event()
            self._depth += 1
            self._reach(self._depth, event)
            self._grow(1, event)
            count, deepest = self._count, self._deepest
            self._deepest = self._depth
            node = super().compose_node(parent, index)
            if event.anchor is not None:
                self._anchored[id(node)] = (
                    self._count - count + 1,
                    self._deepest - self._depth + 1,
                )
            self._deepest = max(deepest, self._deepest)
            self._depth -= 1
            return node
        finally:
            if index is not None:
                self._path.pop()

    def _grow(self, nodes: int, event: yaml.Event) -> None:
        self._count += nodes
        if self._count > MAX_YAML_NODES:
            raise self._refuse(
                event,
                f"the file holds more than {MAX_YAML_NODES} YAML nodes (keys, values and "
                "list items, each alias counted as what it stands for)",
                "give large world tables as CSV files (world.<table>.path) and do not nest aliases",
            )

    def _reach(self, depth: int, event: yaml.Event) -> None:
        if depth > MAX_YAML_DEPTH:
            raise self._refuse(
                event,
                f"mappings and lists are nested more than {MAX_YAML_DEPTH} levels deep",
                "flatten the data: a scenario needs about 10 levels",
                field=yaml_path(self._path[:1]),
            )

    def _refuse(self, event: yaml.Event, problem: str, fix: str, field: str = "") -> InputError:
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        return InputError(
            self.label, field or yaml_path(self._path), f"{problem} (line {line})", fix
        )


Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+.0123456789"))


def read_yaml(path: Path, label: str) -> dict[str, Any]:
    """Parse one scenario file with :class:`Loader`, after checking its size and node tree.

    The size is checked before the file is read, the node count and depth while it is
    composed, tags, duplicate keys and dates on the composed nodes, and only then are
    Python objects constructed.
    """
    try:
        if not path.is_file():
            problem = "is not a regular file" if path.exists() else "file not found"
            raise InputError(label, "-", problem, "check the path")
        if path.stat().st_size > MAX_YAML_BYTES:
            raise _too_big(label, path.stat().st_size)
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise InputError(
            label, "-", f"cannot read the file ({exc.strerror or type(exc).__name__})", "check it"
        ) from None
    if len(raw) > MAX_YAML_BYTES:
        raise _too_big(label, len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            label,
            "-",
            f"the file is not UTF-8 text (byte {exc.start + 1} cannot be decoded)",
            "give a UTF-8 text file",
        ) from None
    loader = Loader(text, label)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(label, exc) from None
        if root is not None:
            _check_nodes(root, label, (), set())
        try:
            data = loader.construct_document(root) if root is not None else None
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise _yaml_error(label, exc) from None
    finally:
        loader.dispose()
    if data is None:
        raise InputError(
            label, "-", "the file is empty", "give name, start, horizon_days, seed and events"
        )
    if not isinstance(data, dict):
        raise InputError(
            label,
            "-",
            f"the file holds a {type(data).__name__}, not a mapping",
            "write the scenario as 'key: value' lines (name, start, horizon_days, ...)",
        )
    return data


def _too_big(label: str, size: int) -> InputError:
    return InputError(
        label,
        "-",
        f"the file is {size} bytes, more than the {MAX_YAML_BYTES} bytes (1 MB) a scenario "
        "file may have",
        "give large world tables as CSV files (world.<table>.path)",
    )


def _yaml_error(label: str, exc: Exception) -> InputError:
    """Turn a YAML parse error into an InputError naming the line and column.

    The message never quotes the file: PyYAML's own text of a mark shows the offending
    line, so only its problem and context (short descriptions) are used.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "-"
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    what = " ".join(str(x) for x in parts if x)
    if not what:
        what = str(exc) if not isinstance(exc, yaml.YAMLError) else type(exc).__name__
    # PyYAML quotes names from the file (an undefined alias, a duplicate anchor, a tag
    # handle): drop quoted text longer than one (escaped) character, keep the rest.
    what = re.sub(r"\s*(?:'[^']{5,}'|\"[^\"]{5,}\")", "", what)
    return InputError(
        label,
        where,
        f"invalid YAML ({show_text(what)})",
        "fix the syntax: indentation, ':' after keys, closed brackets and quotes",
    )


def _check_nodes(node: yaml.Node, label: str, path: tuple[str | int, ...], seen: set[int]) -> None:
    """Reject non-standard tags, duplicate keys and invalid dates, naming their YAML path.

    A merge key (``<<: *base``) is allowed as a mapping key; the limits on size and
    depth were checked while composing (:class:`Loader`).
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    line = node.start_mark.line + 1
    if node.tag not in _STANDARD_TAGS:
        raise InputError(
            label,
            yaml_path(path),
            f"YAML tag '{show_text(node.tag)}' is not allowed (line {line})",
            "quote '<<' to use it as text"
            if node.tag == _MERGE_TAG
            else "remove the tag: scenario files hold plain data",
        )
    if isinstance(node, yaml.MappingNode):
        keys: set[object] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG and isinstance(key_node, yaml.ScalarNode):
                if "<<" in keys:
                    raise InputError(
                        label,
                        yaml_path((*path, "<<")),
                        f"duplicate merge key (again on line {key_node.start_mark.line + 1})",
                        "merge several mappings with one key: <<: [*a, *b]",
                    )
                keys.add("<<")
                _check_nodes(value_node, label, (*path, "<<"), seen)
                continue
            _check_nodes(key_node, label, path, seen)
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in keys:
                raise InputError(
                    label,
                    yaml_path((*path, str(key))),
                    f"duplicate key (again on line {key_node.start_mark.line + 1})",
                    "keep one of them",
                )
            keys.add(key)
            _check_nodes(value_node, label, (*path, str(key)), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_nodes(item, label, (*path, i), seen)
    elif node.tag.endswith(":int") and len(node.value) > _MAX_INT_CHARS:
        raise InputError(
            label,
            yaml_path(path),
            f"a whole number of {len(node.value)} characters (line {line})",
            "give a number below 2**63 (at most 19 digits)",
        )
    elif node.tag.endswith(":timestamp") and len(node.value) == 10:
        try:
            dt.date.fromisoformat(node.value)
        except ValueError:
            raise InputError(
                label,
                yaml_path(path),
                f"'{node.value}' is not a valid date (line {line})",
                "give a real calendar date YYYY-MM-DD",
            ) from None
