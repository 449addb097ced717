"""Exception types of paxsim.

Every error that bad input can cause is an :class:`InputError` whose message is
one line naming where the problem is (a file or table), the field, what is wrong
and how to fix it. Code past the input boundary trusts its inputs.
"""

from __future__ import annotations


class PaxsimError(Exception):
    """Base class of all paxsim errors."""


class InputError(PaxsimError, ValueError):
    """Bad input: a table, an event or a setting that cannot be used as given.

    Parameters
    ----------
    where : str
        The file, table or event the problem is in (e.g. ``"facilities.csv"``,
        ``"events[2] (export_control 'ree_2025')"``).
    field : str
        The column, key or path of the offending value.
    problem : str
        What is wrong, in a few words.
    fix : str
        What the user should do about it.
    """

    def __init__(self, where: str, field: str, problem: str, fix: str) -> None:
        self.where = where
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{where}: {field}: {problem}; fix: {fix}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, str, str]]:
        """Pickle by the four parts (errors cross process boundaries in ensembles)."""
        return (InputError, (self.where, self.field, self.problem, self.fix))
