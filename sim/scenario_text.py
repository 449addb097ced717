"""Wording of scenario problems: YAML paths, quoted values, hints and the file a value is from.

Every message about a scenario file is one line, quotes at most a short, printable
excerpt of what the file holds, and names the file of the ``extends`` chain that the
offending value comes from. These helpers are shared by reading (:mod:`sim.scenario_yaml`),
validation (:mod:`sim.scenario_errors`) and the checks of :mod:`sim.scenario`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Doc:
    """One scenario file of an ``extends`` chain: its name in messages and its data."""

    label: str
    data: dict[str, Any]
    file: Path | None = None


def yaml_path(path: Sequence[str | int]) -> str:
    """Format a YAML path: ``events[2].capacity_factor``."""
    out = ""
    for el in path:
        if isinstance(el, int):
            out += f"[{el}]"
        else:
            name = show_text(str(el), 60)
            out += f".{name}" if out else name
    return out or "-"


def one_line(text: str) -> str:
    """Return ``text`` with every run of white space (newlines included) as one space."""
    return " ".join(text.split())


def show(value: object) -> str:
    """Quote a value for a message: its ``repr``, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def show_text(text: str, limit: int = 120) -> str:
    """Text for a message: on one line, printable, at most ``limit`` characters."""
    text = one_line(text)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_date(value: dt.date | str) -> str:
    """Write an event date as the file gave it: ``2025-04-04`` or ``+90d``."""
    return value.isoformat() if isinstance(value, dt.date) else value


def choices(pool: set[str], value: str) -> str:
    """Return a fix naming the allowed values, with a did-you-mean hint for ``value``."""
    close = difflib.get_close_matches(value, sorted(pool), n=1)
    listed = sorted(pool)
    more = " ..." if len(listed) > 12 else ""
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}use one of {listed[:12]}{more}"


def owner(chain: Sequence[Doc], path: Sequence[str | int]) -> str:
    """Name the file of the chain that the value at ``path`` of the merged data comes from."""
    cands: list[tuple[str, Any]] = [(doc.label, doc.data) for doc in chain]
    for el in path:
        nxt: list[tuple[str, Any]] = []
        for label, node in cands:
            if isinstance(node, dict) and el in node:
                nxt.append((label, node[el]))
            elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
                nxt.append((label, node[el]))
        if not nxt:
            break
        cands = nxt if isinstance(nxt[0][1], dict) else nxt[:1]
    return cands[0][0]
