"""Stock events in a run: the next moment a stock runs out (or fills), predicted.

Between two events every stock moves linearly, so the moment the first one runs out
is known in advance: a slot's input stock, a releasing strategic stockpile, or a
finished-goods stock reaching 0 or its storage. One such event is pending at a time
(newer predictions replace it through a token); when it fires, float residue is
removed and the network is settled again.
"""

from __future__ import annotations

import numpy as np

#: A stock falls only if its slope is below minus this share of its inflow: an empty
#: stock that binds production at its inflow has a slope of float residue (+-1e-17),
#: which must not schedule a stock-out (the amplifier of issue 7: a spurious re-settle
#: at an instant that depended on the last bits of the inputs).
SLOPE_TOLERANCE = 1e-12
_NONE = np.zeros(0, dtype=np.int64)  # no slot list: every slot


class StockEvents:
    """The pending stock event: its day and token.

    Parameters
    ----------
    host : engine run
        Provides ``env``, ``horizon``, ``s``, ``slope``, ``inflow``, ``rounding``,
        ``release``, ``stockpiles``, ``finished``, ``kernels`` (the compiled loops or
        None), ``at``, ``request`` and ``advance``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        self._token = 0
        self._due = np.inf
        self._out_at = -np.inf  # last instant a stock already out was re-settled

    def falling(self, slots: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Whether each slot's stock is falling, beyond float residue of its inflow."""
        host = self.host
        slope = host.slope[slots]
        # abs: an inflow of float residue may be slightly negative, and then a slope of 0
        # must not count as falling (it would predict a stock-out at -inf, now, forever).
        # The scale is also the slot's planned use (empty_below is 1e-9 days of it): with
        # no inflow, a slope of 1e-17 is float residue of the use, not a stock running out.
        scale = np.maximum(np.abs(host.inflow[slots]), host.empty_below[slots] * 1e9)
        return (slope < 0) & (slope < -SLOPE_TOLERANCE * scale)

    def schedule(self) -> None:
        """Schedule the next stock-out or stockpile depletion, if earlier than the one due."""
        host = self.host
        times = [np.inf]
        # A falling stock already out, within float residue (0, or 1e-18 above it), is
        # out now: fire at once (once per instant), whichever side of 0 the residue fell.
        kernels = self.host.kernels
        if kernels is not None:
            any_out, days = kernels.stock_out(
                host.s, host.slope, host.inflow, host.empty_below, SLOPE_TOLERANCE, _NONE, True
            )
        else:
            falling = self.falling()
            out = falling & (host.s <= -host.slope * 1e-9)
            any_out, days = bool(out.any()), np.inf
            falling &= ~out
            if falling.any():
                with np.errstate(over="ignore"):  # a vanishing slope: never (inf)
                    days = float((host.s[falling] / -host.slope[falling]).min())
        if any_out and host.env.now > self._out_at:
            times.append(0.0)
        times.append(float(days))
        times += host.stockpiles.days_to_empty(host.release)
        if host.finished:
            times.append(host.finished.days_to_edge())
        self._set(host.env.now + min(times))

    def schedule_slots(self, slots: np.ndarray) -> None:
        """Schedule a stock-out of one of ``slots`` (the only ones whose slope changed)."""
        host = self.host
        kernels = self.host.kernels
        if kernels is not None:
            _, days = kernels.stock_out(
                host.s, host.slope, host.inflow, host.empty_below, SLOPE_TOLERANCE, slots, False
            )
            if days < np.inf:
                self._set(host.env.now + float(days))
            return
        falling = self.falling(slots)
        if falling.any():
            with np.errstate(over="ignore"):  # a vanishing slope: never (inf)
                days = host.s[slots][falling] / -host.slope[slots][falling]
            self._set(host.env.now + float(days.min()))

    def _set(self, due: float) -> None:
        if due > self.host.horizon or due >= self._due:
            return  # the event already scheduled comes first and predicts again
        self._due = due
        self._token += 1
        token = self._token
        self.host.at(due, lambda: self._fire(token))

    def _fire(self, token: int) -> None:
        if token != self._token:
            return
        host = self.host
        self._due = np.inf
        host.advance()
        # Stocks whose predicted run-out is now are empty (remove float residue explicitly).
        tiny = self.falling() & (host.s <= -host.slope * 1e-9)
        depleted = host.stockpiles.depleted(host.release)
        depleted |= bool(host.finished) and host.finished.snap()  # empty or full
        if not (tiny.any() or depleted):
            self.schedule()  # rates changed since this was scheduled
            return
        self._out_at = host.env.now
        host.rounding[tiny] += host.s[tiny]
        host.s[tiny] = 0.0
        host.request(replan=depleted)
