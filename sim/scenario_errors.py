"""Pydantic's validation errors as one-line :class:`~sim.errors.InputError` messages.

The first error of a failed validation (an unknown key first, since it often explains
the rest) becomes ``file: yaml.path: problem; fix: ...``: the path is the YAML path in
the merged data (union tags dropped), the file is the one of the ``extends`` chain the
value comes from, and the fix names what to write (the allowed keys with a
did-you-mean hint, the allowed values, the range and why it is there).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim.errors import InputError
from sim.scenario_events import EVENT_KINDS
from sim.scenario_text import Doc, one_line, owner, show, show_text, yaml_path
from sim.scenario_types import DIST_KINDS, MAX_HORIZON_DAYS, MAX_REPLICATIONS

_UNION_TAGS = ("number", "distribution", "schedule")  # of Param and ScheduledParam
_TAGS = {*_UNION_TAGS, *EVENT_KINDS, *DIST_KINDS}


def _data_path(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Turn a pydantic ``loc`` into a YAML path, dropping union tags."""
    out: list[str | int] = []
    node = data
    for el in loc:
        if isinstance(node, dict) and el in node:
            out.append(el)
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            out.append(el)
            node = node[el]
        elif isinstance(el, str) and el in _TAGS:
            continue
        else:
            out.append(el)
            node = None
    return out


def _flatten(tp: Any) -> list[Any]:
    """Members of a (possibly annotated, optional) union type."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _flatten(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(tp) for t in _flatten(arg)]
    return [tp]


def _model_tag(model: type[BaseModel]) -> str | None:
    for field in ("kind", "dist"):
        info = model.model_fields.get(field)
        if info is not None:
            args = get_args(info.annotation)
            return str(args[0]) if args else None
    return None


def _allowed_keys(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Keys allowed in the mapping at ``loc[:-1]`` of ``root`` (for did-you-mean hints)."""
    current: list[Any] = [root]
    for el in loc[:-1]:
        nxt: list[Any] = []
        for tp in (t for c in current for t in _flatten(c)):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                fields = {f.alias or n: f for n, f in tp.model_fields.items()}
                if isinstance(el, str) and el in fields:
                    nxt.append(fields[el].annotation)
                elif el in _UNION_TAGS or (el in _TAGS and _model_tag(tp) == el):
                    nxt.append(tp)
            elif get_origin(tp) is tuple and isinstance(el, int):
                nxt.append(get_args(tp)[0])
            elif get_origin(tp) is dict and isinstance(el, str):
                nxt.append(get_args(tp)[1])
        current = nxt
    keys = {
        info.alias or name
        for tp in (t for c in current for t in _flatten(c))
        if isinstance(tp, type) and issubclass(tp, BaseModel)
        for name, info in tp.model_fields.items()
    }
    return sorted(keys)


#: Fixes for values out of the range of a top-level field, saying why the limit is there.
_RANGE_FIX: dict[tuple[str | int, ...], str] = {
    ("seed",): "give 0 <= seed < 2**63 (9223372036854775808): runs and result files "
    "store the seed as a 64-bit integer",
    ("replications",): f"give 1 to {MAX_REPLICATIONS} replications",
    ("horizon_days",): f"give 1 to {MAX_HORIZON_DAYS} days (100 years)",
}


def _explain(
    err: ErrorDetails, path: Sequence[str | int], root: type[BaseModel]
) -> tuple[str, str]:
    """Problem and fix for one pydantic error."""
    kind, msg = err["type"], err["msg"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    last = show_text(str(path[-1]), 60) if path else ""
    if kind == "missing":
        return "required key is missing", f"add '{last}'"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, err["loc"])
        close = difflib.get_close_matches(last, allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else "remove it; "
        return f"unknown key '{last}'", f"{hint}allowed keys: {', '.join(allowed)}"
    if kind == "union_tag_invalid":
        disc = str(ctx.get("discriminator", "")).strip("'")
        return f"unknown {disc} '{ctx.get('tag')}'", f"use one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "")).strip("'")
        kinds = EVENT_KINDS if disc == "kind" else DIST_KINDS
        return f"'{disc}' is missing", f"add {disc}: one of {', '.join(kinds)}"
    if kind == "literal_error":
        return f"{show(value)} is not allowed", f"use {ctx.get('expected')}"
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        problem, _, fix = text.partition("; fix: ")
        return problem, fix or "correct the value"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{show(value)} is not a mapping", "give 'key: value' entries"
    if kind in ("tuple_type", "list_type"):
        return f"{show(value)} is not a list", "give a list, e.g. [a, b] or '- item' lines"
    if kind.startswith(("greater_than", "less_than")) and tuple(path) in _RANGE_FIX:
        return f"{show(value)} is out of range", _RANGE_FIX[tuple(path)]
    if kind.startswith(("greater_than", "less_than")):
        return f"{show(value)} is out of range", "give a value " + msg.removeprefix(
            "Input should be "
        )
    if kind == "too_short":
        return msg, "give at least one value"
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return (
            f"{show(value)} is not a valid integer (YAML reads a number with a decimal "
            "point or an exponent as a float)",
            f"write it as a whole number, e.g. {int(value)}",
        )
    if kind == "bool_type":
        return f"{show(value)} is not true or false", "give true or false, without quotes"
    if msg.startswith("Input should be "):
        rest = msg.removeprefix("Input should be ")
        unquote = " without quotes" if isinstance(value, str) and kind != "string_type" else ""
        return f"{show(value)} is not {rest}", f"give {rest}{unquote}"
    return msg, "correct the value (see scenarios/paxsim.schema.json)"


def convert(
    exc: ValidationError, data: dict[str, Any], chain: Sequence[Doc], root: type[BaseModel]
) -> InputError:
    """Convert the first error of a ValidationError (unknown keys first) to an InputError.

    Parameters
    ----------
    exc : ValidationError
        Raised by ``root.model_validate(data)``.
    data : dict
        The merged scenario data that was validated.
    chain : sequence of Doc
        The files of the ``extends`` chain, child first (to name the file of a value).
    root : type of BaseModel
        The model validated (the scenario), for the keys allowed at each path.
    """
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = _data_path(err["loc"], data)
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        disc = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        if disc and (not path or path[-1] != disc):
            path.append(disc)
    problem, fix = _explain(err, path, root)
    return InputError(owner(chain, path), yaml_path(path), one_line(problem), one_line(fix))
