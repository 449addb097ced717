"""Bloc membership in a run: countries joining (or leaving for) a bloc on a date.

From the date on, export controls whose destinations name blocs cover the country by
its new bloc, and bloc-shared stockpiles include it. Metrics still group facilities
by the bloc their country had at the start of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sim.events import Event, MembershipChange, to_day


class Blocs:
    """The bloc of every country of the network, as the run goes.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``log``, ``stockpiles``, ``at``,
        ``request`` and ``advance``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        bloc_of = host.world.bloc_of()
        self.country_bloc = [bloc_of[c] for c in host.net.countries]

    def memberships(self, events: Sequence[Event]) -> list[list[str]]:
        """Bloc memberships the run will see: at the start, then after each change.

        A control must select some trade flow under at least one of them.
        """
        net = self.host.net
        out = [list(self.country_bloc)]
        joins = [e for e in events if isinstance(e, MembershipChange)]
        for join in sorted(joins, key=lambda e: to_day(e.date, net.start, "events", "date")):
            if join.country in net.countries:
                state = list(out[-1])
                state[net.countries.index(join.country)] = join.bloc
                out.append(state)
        return out

    def add(self, ev: MembershipChange, where: str) -> None:
        """Validate a membership change and schedule it."""
        net = self.host.net
        net.require_country(where, "country", ev.country)
        day = to_day(ev.date, net.start, where, "date")
        self.host.at(day, partial(self._join, ev))

    def _join(self, ev: MembershipChange) -> None:
        """Move a country to another bloc: controls and shared stockpiles follow."""
        host = self.host
        host.advance()
        self.country_bloc[host.net.countries.index(ev.country)] = ev.bloc
        host.stockpiles.refresh()
        host.log.append((host.env.now, "membership_change", f"{ev.country}:{ev.bloc}"))
        host.request(replan=True)
