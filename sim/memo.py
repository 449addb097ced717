"""Values derived from a world object, built once and kept while the world lives.

A :class:`~sim.world.World` is immutable, so what is derived from it alone (the
compiled network of a run start, whether a set of investments passed the checks) can
be shared by every run on it: a paired actual and baseline run, and the replications
of an ensemble.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class PerWorld(Generic[V]):
    """Values keyed by a world object and a key; a world's values go when it does.

    Worlds are told apart by identity (two equal worlds built apart keep their own
    values); a world's entry is dropped when it is garbage-collected, before its id
    can be reused.
    """

    def __init__(self) -> None:
        self._values: dict[int, dict[Hashable, V]] = {}

    def get(self, world: object, key: Hashable, make: Callable[[], V]) -> V:
        """Return the value of ``key`` for ``world``, made by ``make()`` the first time."""
        values = self._values.get(id(world))
        if values is None:
            values = self._values[id(world)] = {}
            weakref.finalize(world, self._values.pop, id(world), None)
        if key not in values:
            values[key] = make()
        return values[key]

    def __len__(self) -> int:
        """Return the number of live worlds with values."""
        return len(self._values)
