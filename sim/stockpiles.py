"""Strategic stockpiles in a run: release rules, recipients and levels.

A release rule is triggered while its recipients receive less than
``1 - threshold_share`` of what they need: arrivals from suppliers against the lesser
of their planned use and their orders (a buyer that orders less than it uses, because
it holds surplus stock, is not short). It then releases ``rate_per_day`` to them, pro
rata to their deficits, until the stockpile is empty.
"""

from __future__ import annotations

import numpy as np

from sim.errors import InputError
from sim.events import StockpileRelease, to_day

#: Relative change below which a release is the same release (float residue).
RATE_TOLERANCE = 1e-12


class Stockpiles:
    """The run's stockpile release rules, their recipients and the levels left.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``country_bloc``, ``coef``, ``desired``,
        ``slot_orders``, ``inflow`` and ``release`` (the current releases per slot).
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        self.rules: list[tuple[StockpileRelease, np.ndarray, float]] = []
        self.levels: list[float] = []

    def __bool__(self) -> bool:
        return bool(self.rules)

    def add(self, ev: StockpileRelease, where: str) -> None:
        """Validate a release rule against the stockpiles table and the network."""
        host = self.host
        sp = host.world["stockpiles"]
        row = sp[(sp["holder"] == ev.holder) & (sp["commodity"] == ev.commodity)]
        if row.empty:
            raise InputError(
                where,
                "holder",
                f"no stockpile of '{ev.commodity}' held by '{ev.holder}'",
                "add it to stockpiles.csv",
            )
        if ev.rate_per_day < 0 or not 0 <= ev.threshold_share <= 1:
            raise InputError(
                where,
                "rate_per_day",
                "rate must be >= 0 and threshold in [0, 1]",
                "fix the values",
            )
        recipients = self.recipients(ev)
        if not recipients.any():
            raise InputError(
                where,
                "holder",
                f"no facility of '{ev.holder}' uses '{ev.commodity}'",
                "check holder and commodity",
            )
        self.rules.append((ev, recipients, to_day(ev.start, host.net.start, where, "start")))
        self.levels.append(float(row["quantity"].iloc[0]))

    def recipients(self, ev: StockpileRelease) -> np.ndarray:
        """Input slots a release feeds: the holder's, or its bloc's, users."""
        net, country_bloc = self.host.net, self.host.country_bloc
        k = net.commodities.index(ev.commodity)
        if ev.holder in net.countries and not ev.share_with_bloc:
            country_ok = np.array([c == ev.holder for c in net.countries])
        else:
            bloc = (
                country_bloc[net.countries.index(ev.holder)]
                if ev.holder in net.countries
                else ev.holder
            )
            country_ok = np.array([b == bloc for b in country_bloc])
        return (net.slot_com == k) & country_ok[net.fac_country[net.slot_fac]]

    def refresh(self) -> None:
        """Recompute recipients after a change of bloc membership."""
        self.rules = [(e, self.recipients(e), s) for e, _, s in self.rules]

    def advance(self, days: float) -> None:
        """Draw the levels down by ``days`` of the host's current releases."""
        release = self.host.release
        if not release.any():  # nothing flows out: every level stays as it is
            return
        for i, (_, recipients, _) in enumerate(self.rules):
            self.levels[i] = max(0.0, self.levels[i] - release[recipients].sum() * days)

    def update(self) -> np.ndarray | None:
        """Return the releases the current shortfall triggers, or None if unchanged."""
        host = self.host
        net, now = host.net, host.env.now
        due = [
            i
            for i, (_, _, start) in enumerate(self.rules)
            if now >= start and self.levels[i] > 1e-9
        ]
        if not due and not host.release.any():  # none may release, and none does
            return None
        release = np.zeros(net.m)
        arriving = host.inflow - host.release
        for i in due:
            ev, recipients, _ = self.rules[i]
            use = host.coef[recipients] * host.desired[net.slot_fac[recipients]]
            need = np.minimum(use, host.slot_orders[recipients])
            deficit = np.maximum(need - arriving[recipients], 0.0)
            if need.sum() <= 0 or deficit.sum() / need.sum() < ev.threshold_share:
                continue
            release[recipients] += ev.rate_per_day * deficit / deficit.sum()
        # A change of float residue (the same deficits recomputed) is no change: it
        # would re-settle the network at an instant that depends on the last bits.
        # (The comparison of np.allclose, taken at once for finite rates.)
        if (np.abs(release - host.release) <= RATE_TOLERANCE * np.abs(host.release)).all():
            return None
        if np.isfinite(release).all() and np.isfinite(host.release).all():
            return release  # allclose differs from the test above only for inf and NaN
        if np.allclose(release, host.release, rtol=RATE_TOLERANCE, atol=0.0):
            return None
        return release

    def days_to_empty(self, release: np.ndarray) -> list[float]:
        """Days until each releasing stockpile is empty at the releases ``release``."""
        out = []
        for i, (_, recipients, _) in enumerate(self.rules):
            rate = release[recipients].sum()
            if rate > 0:
                out.append(self.levels[i] / rate)
        return out

    def depleted(self, release: np.ndarray) -> bool:
        """Whether a stockpile that is releasing has just run empty."""
        return any(
            level <= 1e-9 and release[rec].sum() > 0
            for level, (_, rec, _) in zip(self.levels, self.rules, strict=True)
        )
