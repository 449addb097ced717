"""Held cargo: covered shipments waiting at the border under a ``hold`` control.

In a customs slowdown (China to Japan, 21 Sep to late November 2010) exporters still sell
and ship, but customs do not clear the cargo: it waits at the border and counts as
exported only when released. Under ``regime: hold`` the supplier's sales on a covered
link go into that link's held stock instead of down the lane; while the hold is in
force a share ``hold_release_share`` of the held cargo is released per day, and when
the hold ends (or is suspended) everything still held is released within
:data:`CLEAR_DAYS`. Released cargo then travels the lane like any shipment, so the
buyer's imports rebound after the halt.

Per link, the engine's shipment rate ``x`` is the cleared (exported) rate: sales less
what is held, plus releases. Held cargo is its own term of the material balance
(``held_final``). Releases are rates fixed between ticks: a daily tick while any cargo
is held recomputes them (``share x held``), a piecewise-constant approximation of the
exponential release.
"""

from __future__ import annotations

import numpy as np

#: Days over which the cargo still held when a hold ends is released.
CLEAR_DAYS = 1.0
#: Held cargo below this (units) counts as none.
HELD_FLOOR = 1e-9


class HeldCargo:
    """Per link: cargo held at the border, the share of sales held and the release rate.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``env``, ``at(day, action)``, ``advance()`` and
        ``request(replan)``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        nl = host.net.l
        self.held = np.zeros(nl)  # units waiting at the border
        self.share = np.zeros(nl)  # share of sales held now (a hold in force)
        self.rate = np.zeros(nl)  # share of the held cargo released per day in force
        self.release = np.zeros(nl)  # release rate, units per day
        self.held_in = np.zeros(nl)  # rate into the held stock, units per day
        self.enabled = False
        self._tick_due = -np.inf

    def __bool__(self) -> bool:
        return self.enabled

    def set_holds(self, share: np.ndarray, rate: np.ndarray) -> None:
        """Put the holds in force now (per link: share of sales held, release per day)."""
        self.share = share
        self.rate = rate
        self._set_release()

    def _set_release(self) -> None:
        held = np.where(self.held > HELD_FLOOR, self.held, 0.0)
        holding = self.share > 0
        self.release = np.where(holding, self.rate * held, held / CLEAR_DAYS)
        if (held > 0).any() or holding.any():
            self._schedule_tick()

    def _schedule_tick(self) -> None:
        now = self.host.env.now
        day = float(np.floor(now + 1e-9)) + 1.0  # the next whole day
        if self._tick_due > now:
            return
        self._tick_due = day
        self.host.at(day, self._tick)

    def _tick(self) -> None:
        host = self.host
        host.advance()
        self._tick_due = -np.inf
        self._set_release()
        host.request(replan=False)

    def export(self, links: np.ndarray, sales: np.ndarray) -> np.ndarray:
        """Return the cleared rate of ``links`` given the supplier's ``sales`` on them."""
        self.held_in[links] = sales * self.share[links]
        return sales - self.held_in[links] + self.release[links]

    def sales(self, x: np.ndarray) -> np.ndarray:
        """Return what suppliers sell per link, given the cleared rates ``x``."""
        return x + self.held_in - self.release

    def advance(self, days: float) -> None:
        """Move the held stocks forward by ``days`` at the current rates."""
        self.held = np.maximum(self.held + (self.held_in - self.release) * days, 0.0)
