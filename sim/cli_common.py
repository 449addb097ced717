"""What every ``paxsim`` command shares: one-line errors, exit codes, ``--debug``.

:class:`_OneLineErrors` prints every usage error (a bad option or argument) as one line,
``error: paxsim <command>: <option>: <problem>; fix: <fix>``, and exits with code 2;
:func:`_errors` maps the errors of a command to one line and an exit code (2 bad input,
1 run failure), with the traceback under ``--debug``.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sim.errors import InputError, PaxsimError


def _line(text: str) -> str:
    """Return ``text`` as one printable line: newlines and control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _where(ctx: Any) -> str:
    """Return the command path of a click context, with the program called ``paxsim``."""
    names: list[str] = []
    while ctx is not None:
        names.append(str(ctx.info_name or ""))
        ctx = ctx.parent
    return " ".join(["paxsim", *reversed(names[:-1])]) if names else "paxsim"


def _usage_line(err: Exception, fallback: Any = None) -> str:
    """Return a click usage error as one line: where, the option, the problem and the fix.

    ``fallback`` is the group's context, for errors raised without one while parsing
    a command's arguments.
    """
    ctx = getattr(err, "ctx", None)
    where = _where(ctx)
    command = getattr(fallback, "invoked_subcommand", None)
    if ctx is None and isinstance(command, str):
        where = f"paxsim {command}"
    hint = f"see '{where} --help'"
    param = getattr(err, "param", None)
    option = getattr(err, "option_name", None)
    message = str(getattr(err, "message", "") or err.format_message())  # type: ignore[attr-defined]
    kind = type(err).__name__
    if param is not None:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        is_option = getattr(param, "param_type_name", "") == "option"
        field = max(opts, key=len) if opts and is_option else str(param.name).upper()
    else:
        field = option or "-"
    if message.startswith("No such command"):
        field, problem, fix = "COMMAND", "n" + message[1:], "give a command (see 'paxsim --help')"
    elif kind == "MissingParameter":
        problem, fix = "is missing", f"give it ({hint})"
    elif kind == "NoSuchOption":
        problem = "no such option"
        possible = sorted(getattr(err, "possibilities", None) or [])
        fix = f"did you mean {' or '.join(possible)}?" if possible else f"remove it ({hint})"
    else:
        problem = message[:1].lower() + message[1:]
        value = _bad_value(err)
        if value is not None and param is not None:
            problem = f"{value!r} is not valid ({problem.rstrip('.')})"
        fix = f"give a valid value ({hint})" if param is not None else hint
    problem = " ".join(problem.rstrip(".").split())
    return _line(f"error: {where}: {field}: {problem}; fix: {fix}")


def _bad_value(err: Exception) -> object | None:
    """Return the value a typer coercion error refused, when its cause records it."""
    errors = getattr(err.__cause__, "errors", None)
    if not callable(errors):
        return None
    try:
        first = errors()[0]
    except (TypeError, IndexError, KeyError):  # pragma: no cover - another typer version
        return None
    return first.get("input") if isinstance(first, dict) else None


def _is_usage_error(err: Exception) -> bool:
    """Whether ``err`` is one of click's errors for the user (not help, not an exit)."""
    if type(err).__name__ == "NoArgsIsHelpError":
        return False  # the group's help, printed by typer
    return callable(getattr(err, "format_message", None)) and isinstance(
        getattr(err, "exit_code", None), int
    )


class _OneLineErrors(TyperGroup):
    """The paxsim group: every usage error (options, arguments) is one line on stderr.

    Click and typer print a usage box on several lines; this group prints
    ``error: paxsim <command>: <option>: <problem>; fix: <fix>`` instead, and exits
    with the error's code (2 for usage errors).
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        """Parse the group's own options, with usage errors on one line."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except Exception as err:
            if not _is_usage_error(err):
                raise
            typer.echo(_usage_line(err), err=True)
            raise typer.Exit(int(getattr(err, "exit_code", 2))) from None

    def invoke(self, ctx: Any) -> Any:
        """Run a command, with usage errors (its options and arguments) on one line."""
        try:
            return super().invoke(ctx)
        except Exception as err:
            if not _is_usage_error(err):
                raise
            typer.echo(_usage_line(err, ctx), err=True)
            raise typer.Exit(int(getattr(err, "exit_code", 2))) from None


#: Headline metrics printed by ``paxsim compare`` and ``paxsim example``.
HEADLINE = ["output_loss_share", "time_to_survive_days", "time_to_recover_days"]
#: The bundled scenario library, next to the package in a source checkout.
BUNDLED = Path(__file__).resolve().parent.parent / "scenarios"

Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


@contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """Map expected errors to one line and an exit code (2 bad input, 1 run failure)."""
    try:
        yield
    except typer.Exit:
        raise
    except InputError as err:
        if debug:
            traceback.print_exc()
        typer.echo(_line(f"error: {err}"), err=True)
        raise typer.Exit(2) from None
    except (PaxsimError, OSError, RuntimeError, ValueError, MemoryError) as err:
        if debug:
            traceback.print_exc()
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        typer.echo(_line(f"error: {type(err).__name__}: {first}"), err=True)
        raise typer.Exit(1) from None


def _reason(err: OSError) -> str:
    return str(err.strerror or type(err).__name__)
