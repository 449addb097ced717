"""Installed capacity: durable inputs held as an installed base that wears out.

Accelerators in a data center and magnet-bearing equipment are capital, not fuel.

A recipe input with ``durable = true`` is capital, not a consumable. For a durable
input slot ``i`` of facility ``f`` with ``q = quantity_per_unit`` (units installed per
output unit per day), service life ``L`` days and installation lag ``lam`` days:

* capacity: ``cap_f <= K_i / q`` (with nameplate, ramp and outages), where ``K_i`` is
  the installed base, evaluated at every plan (reviews and events);
* retirement: ``K_i / L`` per day, set at every plan and constant until the next;
* installation: units taken from the slot's stock at rate ``u_i`` join the base
  ``lam`` days later (the installation pipeline holds ``u * lam`` in steady state);
* need: ``u_i = r_i + q W_f g_f + (q W_f (1 + g_f lam) + (r_i + q W_f g_f) lam - K_i
  - I_i) / A`` with ``r_i = K_i / L``, where
  ``W_f`` is the output the facility is asked for (final demand and orders, within
  its nameplate in service: ramps and closures count, outages and the installed limit
  do not), ``g_f`` the growth of its final demand per day, ``I_i`` the installation
  pipeline and ``A`` the stock-adjustment days: orders cover retirements, planned
  growth and the gap to the target base (never below 0); with stock on hand ``u`` is
  that need, with an empty stock at most what arrives;
* orders for the slot follow ``u`` toward the slot's target cover, like a consumable's.

The run starts in steady state: ``K = q W (1 + g lam)``, ``I = u lam`` and stock at
the initial cover of ``u``. The base, its pipeline and its retirements are terms of the
material balance.
"""

from __future__ import annotations

import numpy as np

from sim.errors import InputError


class InstalledBase:
    """Installed base, installation pipeline and retirements of every durable slot.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``settings``, ``horizon``, ``s``
        (slot stocks), ``inflow``, ``empty_below``, ``demand`` (growth per day),
        ``kernels`` (the compiled loops, or None for the numpy reference), ``at(day,
        action)`` and ``request(replan)``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        net = host.net
        durable, life, lag = _slot_parameters(net)
        self.mask = durable
        self.slots = np.flatnonzero(durable)
        d = self.slots
        self.fac = net.slot_fac[d]
        self.q = net.slot_coef[d]
        self.life = life[d]
        self.lag = lag[d]
        self._lags = np.unique(self.lag[self.lag != 0])  # the distinct installation lags
        self.base = np.zeros(len(d))  # K, units installed
        self.pipeline = np.zeros(len(d))  # I, units being installed
        self.retire = np.zeros(len(d))  # units per day
        self.joining = np.zeros(len(d))  # units per day reaching the base now
        self.need = np.zeros(len(d))  # units per day the facility wants to install
        self.install = np.zeros(len(d))  # units per day leaving the stock (u)
        self._sent = np.zeros(len(d))
        self.retired = np.zeros(len(d))  # cumulative, units
        self.ready = False
        self.position = np.full(net.m, -1, dtype=np.int64)
        self.position[d] = np.arange(len(d))

    def __bool__(self) -> bool:
        return bool(len(self.slots))

    def capacity_limit(self, n: int) -> np.ndarray:
        """Output per day each facility's installed base supports (inf without one).

        Before the run's steady state is set (the first plan) no base limits capacity.
        """
        limit = np.full(n, np.inf)
        if not self.ready:
            return limit
        kernels = self.host.kernels
        if kernels is not None:
            return kernels.installed_limit(n, self.fac, self.base, self.q)
        np.minimum.at(limit, self.fac, self.base / self.q)
        return limit

    def plan(self, slots: np.ndarray, want: np.ndarray, steady: bool) -> np.ndarray:
        """Set retirements and the need to install of durable ``slots`` (slot ids).

        ``want`` is the output each facility is asked for, per day (final demand and
        orders within nameplate, ignoring the installed limit). With ``steady`` the
        base is set to its steady state first (the run's start). Returns the need of
        each of ``slots``, in units per day.
        """
        host = self.host
        j = self.position[slots]
        q, lag = self.q[j], self.lag[j]
        w = want[self.fac[j]]
        g = host.demand.growth_per_day()[self.fac[j]]
        target = q * w * (1.0 + g * lag)
        if steady:
            self.base[j] = target
            self.ready = True
        retire = self.base[j] / self.life[j]
        self.retire[j] = retire
        growth = q * w * g
        if steady:
            need = retire + growth
            self.pipeline[j] = need * lag
            self.install[j] = need
            self.joining[j] = need
            self._sent[j] = need
        else:
            # The target position counts the pipeline needed to cover the lag.
            gap = target + (retire + growth) * lag - self.base[j] - self.pipeline[j]
            need = np.maximum(retire + growth + gap / host.settings.stock_adjust_days, 0.0)
        self.need[j] = need
        return need

    def settle(self, use: np.ndarray) -> None:
        """Set installation from stock (need if stock is on hand, else what arrives).

        Writes the installation rate into ``use`` (per slot) and sends its changes
        down the installation pipeline.
        """
        host = self.host
        d = self.slots
        kernels = host.kernels
        if kernels is not None:
            self.install, changed, joining, sent, later = kernels.installed_settle(
                host.s, host.empty_below, host.inflow, d, self.need, self._sent, self.lag,
                self.joining,
            )  # fmt: skip
            use[d] = self.install
            if not changed:
                return
            self.joining, self._sent = joining, sent
        else:
            empty = host.s[d] <= host.empty_below[d]
            self.install = np.where(empty, np.minimum(self.need, host.inflow[d]), self.need)
            use[d] = self.install
            changed = np.abs(self.install - self._sent) > 1e-12 * (
                np.abs(self.install) + np.abs(self._sent)
            )
            if not changed.any():
                return
            now_lag = self.lag == 0
            self.joining = np.where(changed & now_lag, self.install, self.joining)
            self._sent = np.where(changed, self.install, self._sent)
            later = np.flatnonzero(changed & ~now_lag)
        # One event per installation lag, for every slot whose rate changed (not one
        # per slot: a plan changes the rates of every installed base at once).
        lags = self.lag[later]
        for lag in self._lags:  # ascending
            day = host.env.now + float(lag)
            if day <= host.horizon:
                js = later[lags == lag]
                if not len(js):
                    continue
                values = self.install[js].copy()
                host.at(day, lambda js=js, v=values: self._join(js, v))

    def _join(self, js: np.ndarray, values: np.ndarray) -> None:
        host = self.host
        host.advance()
        self.joining[js] = values
        host.request(replan=False)

    def slope(self) -> np.ndarray:
        """Change of each installed base per day at the current rates."""
        return self.joining - self.retire

    def advance(self, days: float) -> None:
        """Move the bases, pipelines and retirements forward by ``days``."""
        if not len(self.slots):
            return
        kernels = self.host.kernels
        if kernels is not None:
            self.base, self.pipeline, self.retired = kernels.installed_advance(
                self.base, self.pipeline, self.retired, self.joining, self.retire, self.install,
                days,
            )  # fmt: skip
            return
        self.base = np.maximum(self.base + (self.joining - self.retire) * days, 0.0)
        self.pipeline = np.maximum(self.pipeline + (self.install - self.joining) * days, 0.0)
        self.retired = self.retired + self.retire * days

    def per_slot(self, values: np.ndarray) -> np.ndarray:
        """Spread per-durable-slot ``values`` over all input slots (0 elsewhere)."""
        out = np.zeros(self.host.net.m)
        out[self.slots] = values
        return out


def _slot_parameters(net) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Durable flag, service life and installation lag of every input slot, checked."""
    durable = net.slot_durable & (net.slot_substitute_of < 0)
    for mi in np.flatnonzero(net.slot_durable):
        fid = net.facility_ids[net.slot_fac[mi]]
        com = net.commodities[net.slot_com[mi]]
        where = f"recipes.csv ({fid}, {com})"
        if not net.slot_service_life_days[mi] > 0:
            raise InputError(
                where,
                "service_life_days",
                "a durable input needs a service life",
                "give service_life_days > 0",
            )
        if net.slot_substitute_of[mi] >= 0 or (net.slot_substitute_of == mi).any():
            raise InputError(
                where,
                "substitute_input",
                "a durable input cannot have a substitute input",
                "remove the substitute or make the input a consumable",
            )
    return durable, net.slot_service_life_days, net.slot_installation_days
