"""Lanes in a run: shipment rates sent, rates arriving after the lane's days, transit.

A change of a link's shipment rate reaches the buyer ``link_days`` later. Changes
are batched per arrival instant (one SimPy event per instant, shared by every lane)
and handed to the host's ``arrive(links, values)``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

#: Relative change below which a link's rate change is not sent down the lane.
RATE_TOLERANCE = 1e-12
#: Rate (units per day, of any commodity) at or below which a flow counts as none. Float
#: residue of the allocation (rates of 1e-17 t/day on links that carry nothing) must not
#: make arrival events or weight a lead time: either would hang on the inputs' last bits.
#: The smallest real flow in the reference world is about 1e-4 t/day.
RATE_FLOOR = 1e-12


class Lanes:
    """Per link: the rate last sent (``x_sent``), arriving (``arr``) and in transit.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``env``, ``horizon``, ``kernels`` (the compiled loops or
        None), ``at(day, action)`` and ``arrive(links, values)``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        nl = host.net.l
        self.x_sent = np.zeros(nl)
        self.arr = np.zeros(nl)
        self.transit = np.zeros(nl)
        self._arrivals: dict[float, list[tuple[np.ndarray, np.ndarray, float]]] = {}

    def fill(self, x: np.ndarray) -> None:
        """Start in steady state: rates ``x`` sent and arriving, lanes full."""
        net = self.host.net
        self.arr = x.copy()
        self.transit = x * net.link_days
        self.x_sent = x.copy()

    def advance(self, x: np.ndarray, days: float) -> None:
        """Move the amounts in transit forward by ``days`` at shipment rates ``x``."""
        kernels = self.host.kernels
        if kernels is not None:
            kernels.move_transit(self.transit, x, self.arr, float(days))
        else:
            self.transit += (x - self.arr) * days

    def send(self, x: np.ndarray) -> None:
        """Schedule the arrival of rate changes at the far end of each lane."""
        host = self.host
        net, now = host.net, host.env.now
        kernels = self.host.kernels
        if kernels is not None:
            links_sorted, values_sorted, first, last, groups = kernels.lane_changes(
                x, self.x_sent, net.link_lagged, net.lag_order, net.lag_starts,
                RATE_TOLERANCE, RATE_FLOOR,
            )  # fmt: skip
            if not len(groups):
                return
        else:
            limit = RATE_TOLERANCE * (np.abs(x) + np.abs(self.x_sent)) + RATE_FLOOR
            changed = np.abs(x - self.x_sent) > limit
            changed &= net.link_lagged
            if not changed.any():
                return
            self.x_sent[changed] = x[changed]
            # Changed links sorted by lane days: one arrival batch per lane length.
            in_order = changed[net.lag_order]
            links_sorted = net.lag_order[in_order]
            values_sorted = x[links_sorted]
            counts = np.add.reduceat(in_order, net.lag_starts)
            ends = np.cumsum(counts)
            groups = np.flatnonzero(counts)
            first, last = (ends - counts)[groups], ends[groups]
        days = (now + net.lag_days[groups]).tolist()  # the same sums, as Python floats
        for a, b, day in zip(first.tolist(), last.tolist(), days, strict=True):
            if day > host.horizon:
                break  # lane days ascend: every later group arrives after the horizon too
            batch = self._arrivals.get(day)
            if batch is None:  # one event per arrival instant, shared by every lane
                batch = self._arrivals[day] = []
                host.at(day, partial(self._arrive_at, day))
            batch.append((links_sorted[a:b], values_sorted[a:b], now))

    def _arrive_at(self, day: float) -> None:
        self.host.arrive(*self._pop(day))

    def _pop(self, day: float) -> tuple[np.ndarray, np.ndarray]:
        """Take the rate changes arriving at ``day``; for a link sent twice, the later one."""
        batch = self._arrivals.pop(day)
        if len(batch) == 1:
            return batch[0][0], batch[0][1]
        links = np.concatenate([b[0] for b in batch])
        values = np.concatenate([b[1] for b in batch])
        if len({sent for _, _, sent in batch}) == len(batch):
            # A link appears twice only if sent twice at one instant (same lane length).
            return links, values
        links = links[::-1]
        values = values[::-1]
        unique, last = np.unique(links, return_index=True)
        return unique, values[last]
