"""Make to stock: facilities that keep producing into a finished-goods stock.

A facility whose type is in the ``finished_goods`` table holds a stock ``F`` of its
own output. With ``r`` its output per day at the run start (steady state), target
``F* = target_days r`` and storage ``Fmax = storage_days r``:

* plan: its production plan ``R`` follows what it is asked for (final demand plus
  orders) with the smoothing time ``smoothing_days`` (exponential smoothing, updated at
  every plan), and it produces ``R + (F* - F) / A`` within 0 and capacity, ``A`` the
  stock-adjustment days; so when orders pause it keeps running, slowing as its plan
  follows the orders down and its stock fills, and after a drawdown it rebuilds;
* settle: it sells from stock first (with stock on hand every order can be met), and
  once ``F`` reaches ``Fmax`` it runs at what it sells;
* ``F`` moves at ``production - sales``; reaching 0 or ``Fmax`` is an event. The run
  starts with ``F = F*``. ``F`` is a term of the material balance.
"""

from __future__ import annotations

import numpy as np

from sim.errors import InputError

#: A finished-goods stock within this share of a day of output of 0 or of its storage
#: counts as empty or full.
EDGE_DAYS = 1e-9


class FinishedGoods:
    """Finished-goods stocks of the make-to-stock facilities.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``settings``, ``env`` and ``kernels`` (the compiled
        loops, or None for the numpy reference).
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        net = host.net
        table = host.world["finished_goods"]
        days = {
            t: (float(a), float(b), float(c))
            for t, a, b, c in zip(
                table["facility_type"],
                table["target_days"],
                table["storage_days"],
                table["smoothing_days"],
                strict=True,
            )
        }
        for t, (target, storage, _) in days.items():
            if storage < target:
                raise InputError(
                    f"finished_goods ({t})",
                    "storage_days",
                    f"{storage:g} is below target_days {target:g}",
                    "give storage_days >= target_days",
                )
        # Joint plants and their co-product rows hold a buffer stock of each product
        # (no target; beyond storage, unsold output).
        joint = np.zeros(net.n, dtype=bool)
        joint[net.joint_parent[net.joint_parent >= 0]] = True
        joint[net.joint_parent >= 0] = True
        jp = host.world["joint_products"]
        storage_of = dict(
            zip(zip(jp["facility"], jp["commodity"], strict=True), jp["storage_days"], strict=True)
        )
        rows: dict[int, tuple[float, float, float]] = {}
        for i in np.flatnonzero(joint).tolist():
            if net.fac_type[i] in days:
                raise InputError(
                    f"finished_goods ({net.fac_type[i]})",
                    "facility_type",
                    f"'{net.facility_ids[i]}' is a joint plant, which makes to order with a "
                    "buffer per product",
                    "leave joint plants' types out of finished_goods",
                )
            plant = i if net.joint_parent[i] < 0 else int(net.joint_parent[i])
            key = (net.facility_ids[plant], net.commodities[net.fac_com[i]])
            rows[i] = (0.0, float(storage_of[key]), 0.0)
        for i, t in enumerate(net.fac_type):
            if t in days and i not in rows:
                rows[i] = days[t]
        self.joint = joint
        self.fac = np.array(sorted(rows), dtype=np.int64)
        self.mask = np.zeros(net.n, dtype=bool)
        self.mask[self.fac] = True
        self.target_days = np.array([rows[int(i)][0] for i in self.fac])
        self.storage_days = np.array([rows[int(i)][1] for i in self.fac])
        n = net.n
        self.unsold = np.zeros(n)  # cumulative, output units
        self.unsold_rate = np.zeros(n)
        self.smoothing = np.zeros(n)
        self.smoothing[self.fac] = [rows[int(i)][2] for i in self.fac]
        self.started = np.zeros(n, dtype=bool)
        self.rate = np.zeros(n)  # production plan R, output units per day
        self.planned_at = np.zeros(n)
        self.rate0 = np.zeros(n)
        self.target = np.zeros(n)
        self.storage = np.zeros(n)
        self.stock = np.zeros(n)
        self.slope = np.zeros(n)

    def __bool__(self) -> bool:
        return bool(len(self.fac))

    def start(self, rate: np.ndarray) -> None:
        """Set the steady state from each facility's output per day at the run start."""
        f = self.fac
        self.rate0[f] = rate[f]
        self.target[f] = self.target_days * rate[f]
        self.storage[f] = self.storage_days * rate[f]
        self.stock[f] = self.target[f]
        self.rate[f] = rate[f]
        self.started[f] = True

    def desired(self, prods: np.ndarray, asked: np.ndarray, cap: np.ndarray) -> np.ndarray:
        """Planned output of producers ``prods`` (make to order: ``min(cap, asked)``).

        Make to stock: the production plan ``R`` follows ``asked`` with the smoothing
        time ``T`` (``R += (asked - R) min(1, dt / T)`` at each plan, ``dt`` days since
        the last), and the plan is ``R + (F* - F) / A`` within 0 and capacity.
        """
        mts = self.mask[prods] & self.started[prods] & ~self.joint[prods]
        plan = asked.copy()
        if mts.any():
            host = self.host
            j = prods[mts]
            now = host.env.now
            step = now - self.planned_at[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                weight = np.where(
                    self.smoothing[j] > 0, np.minimum(1.0, step / self.smoothing[j]), 1.0
                )
            self.rate[j] += (asked[mts] - self.rate[j]) * weight
            self.planned_at[j] = now
            gap = (self.target[j] - self.stock[j]) / host.settings.stock_adjust_days
            plan[mts] = np.maximum(self.rate[j] + gap, 0.0)
        return np.minimum(cap, plan)

    def supply(
        self, prods: np.ndarray, output: np.ndarray, requested: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(output, what can be sold)`` of producers ``prods``.

        Make to stock: with stock on hand everything requested can be sold; an empty
        stock sells at most the output; a full stock cuts output to what is sold.
        """
        mts = self.mask[prods]
        if not mts.any():
            return output, output
        j = prods[mts]
        out = output.copy()
        edge = EDGE_DAYS * self.rate0[j]
        full = self.stock[j] >= self.storage[j] - edge
        cut = full & ~self.joint[j]  # a full joint stock does not cut output: unsold
        out[mts] = np.where(cut, np.minimum(output[mts], requested[mts]), output[mts])
        sell = out.copy()
        on_hand = self.stock[j] > edge
        sell[mts] = np.where(on_hand, np.maximum(out[mts], requested[mts]), out[mts])
        return out, sell

    def set_slope(self, output: np.ndarray, sold: np.ndarray) -> None:
        """Stocks move at output minus sales."""
        kernels = self.host.kernels
        if kernels is not None:
            self.slope, self.unsold_rate = kernels.finished_slopes(
                output, sold, self.stock, self.storage, self.rate0, self.joint, self.fac
            )
            return
        slope = np.zeros(len(output))
        f = self.fac
        slope[f] = output[f] - sold[f]
        full = self.stock[f] >= self.storage[f] - EDGE_DAYS * self.rate0[f]
        overflow = full & (slope[f] > 0) & self.joint[f]
        unsold = np.zeros(len(output))
        unsold[f[overflow]] = slope[f[overflow]]
        slope[f[overflow]] = 0.0
        self.slope, self.unsold_rate = slope, unsold

    def advance(self, days: float) -> None:
        """Move the stocks forward by ``days`` (within 0 and storage)."""
        kernels = self.host.kernels
        if kernels is not None:
            kernels.finished_advance(
                self.stock, self.slope, self.storage, self.unsold, self.unsold_rate, self.fac, days
            )
        elif len(self.fac):
            f = self.fac
            self.stock[f] = np.clip(self.stock[f] + self.slope[f] * days, 0.0, self.storage[f])
            self.unsold[f] += self.unsold_rate[f] * days

    def days_to_edge(self) -> float:
        """Days until some stock runs empty or fills its storage at the current slopes."""
        kernels = self.host.kernels
        if kernels is not None:
            return float(
                kernels.finished_days_to_edge(
                    self.stock, self.slope, self.storage, self.rate0, self.fac
                )
            )
        f = self.fac
        s, slope = self.stock[f], self.slope[f]
        edge = EDGE_DAYS * self.rate0[f]
        falling = (slope < 0) & (s > edge)
        rising = (slope > 0) & (s < self.storage[f] - edge)
        times = [np.inf]
        if falling.any():
            times.append(float((s[falling] / -slope[falling]).min()))
        if rising.any():
            times.append(float(((self.storage[f] - s)[rising] / slope[rising]).min()))
        return min(times)

    def snap(self) -> bool:
        """Put stocks at (or within residue of) 0 or storage, still pushing, on the edge.

        Returns whether any was: the flows must then be settled again.
        """
        f = self.fac
        edge = EDGE_DAYS * self.rate0[f] + 1e-12 * self.storage[f]
        s = self.stock[f]
        # A slope of float residue (a billionth of the output or less) pushes nowhere: it
        # would re-settle the flows for nothing, and on which side of 0 the residue
        # falls depends on the inputs' last bits.
        tol = EDGE_DAYS * self.rate0[f] + 1e-12  # a product without output at the start too
        empty = (self.slope[f] < -tol) & (s <= edge)
        full = (self.slope[f] > tol) & (s >= self.storage[f] - edge)
        self.stock[f] = np.where(empty, 0.0, np.where(full, self.storage[f], s))
        return bool(empty.any() or full.any())
