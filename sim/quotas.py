"""Volume quotas of an export control: tonnes allocated by date, consumed by shipments.

China's rare-earth export quotas were annual tonnages, allocated to exporters in batches
(in 2010 the cut came with the second-half allocation). Here a control's ``quota_t``
allocates that quantity at the control's start and again every 1 January; its
``quota_batches`` allocate dated quantities instead (what is left lapses on 1 January,
before that day's batches). Shipments on the covered links consume the quota at their
rate; when it is used up, the covered flows stop (their buyers' orders go elsewhere or
wait) until the next allocation. The quantity is in the unit of the covered commodities,
which must share one.

The quota is a state between events: it falls linearly at the covered shipment rate, so
the day it runs out is known when the flows settle, and an event is scheduled then.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sim.errors import InputError
from sim.events import ExportControl, to_day

#: A quota with less than this share of its largest allocation left counts as used up
#: (float residue of the consumption must not leave a sliver that reopens the flows).
EMPTY_SHARE = 1e-9


def allocations(
    spec: ExportControl, start: dt.date, horizon: float, where: str
) -> list[tuple[float, float, bool]]:
    """Return the quota's allocations as ``(day, quantity, reset)``, in time order.

    ``reset`` marks a 1 January, when what is left lapses before the day's allocation.
    """
    if spec.quota_t is not None and spec.quota_batches:
        raise InputError(
            where, "quota_batches", "is given with quota_t", "give one of quota_t and quota_batches"
        )
    control_start = to_day(spec.start, start, where, "start")
    years = range(start.year, start.year + int(horizon // 365) + 2)
    new_years = [d for y in years if (d := float((dt.date(y, 1, 1) - start).days)) > control_start]
    out: list[tuple[float, float, bool]] = []
    if spec.quota_t is not None:
        if not spec.quota_t >= 0:
            raise InputError(
                where, "quota_t", f"{spec.quota_t} is negative", "give a quantity >= 0"
            )
        out.append((control_start, float(spec.quota_t), True))
        out += [(d, float(spec.quota_t), True) for d in new_years]
        return out
    for i, batch in enumerate(spec.quota_batches):
        if not batch.quantity >= 0:
            raise InputError(
                where, f"quota_batches[{i}].quantity", f"{batch.quantity} is negative", "give >= 0"
            )
        day = max(to_day(batch.date, start, where, f"quota_batches[{i}].date"), control_start)
        out.append((day, float(batch.quantity), False))
    out += [(d, 0.0, True) for d in new_years]
    return sorted(out, key=lambda a: (a[0], not a[2]))  # a reset before that day's batches


class VolumeQuota:
    """The quota left of one control, its allocations and its run-out event.

    Parameters
    ----------
    ctl : sim.controls.ControlState
        The control (``active(now)``, ``covered(net, blocs)``).
    host : engine run
        Provides ``net``, ``world``, ``env``, ``x``, ``country_bloc``, ``log``, ``horizon``,
        ``at(day, action)``, ``advance()`` and ``request(replan)``.
    where : str
        Names the control in errors.
    """

    def __init__(self, ctl: Any, host, where: str) -> None:  # type: ignore[no-untyped-def]
        self.ctl = ctl
        self.host = host
        net = host.net
        unit_of = host.world.unit_of()
        units = {str(unit_of.get(net.commodities[c], "")) for c in ctl.commodity_ids}
        if len(units) > 1:
            raise InputError(
                where,
                "quota_t",
                f"covers commodities of different units ({', '.join(sorted(units))})",
                "give a volume quota for commodities of one unit",
            )
        self.left = 0.0
        self.largest = 0.0
        self._token = 0
        for day, quantity, reset in allocations(ctl.spec, net.start, host.horizon, where):
            host.at(day, lambda q=quantity, r=reset: self._allocate(q, r))

    def exhausted(self) -> bool:
        """Whether the quota is used up (the covered flows stop)."""
        return self.left <= EMPTY_SHARE * self.largest

    def rate(self) -> float:
        """Covered shipments now, in the quota's unit per day."""
        host = self.host
        if not self.ctl.active(host.env.now):
            return 0.0
        return float(host.x[self.ctl.covered(host.net, host.country_bloc)].sum())

    def advance(self, days: float) -> None:
        """Consume ``days`` of the covered shipments at their current rate."""
        self.left = max(0.0, self.left - self.rate() * days)

    def schedule(self) -> None:
        """After flows settle: schedule the day the quota runs out at the new rate."""
        self._token += 1
        rate = self.rate()
        if rate <= 0 or self.exhausted():
            return
        token = self._token
        self.host.at(self.host.env.now + self.left / rate, lambda: self._run_out(token))

    def _run_out(self, token: int) -> None:
        if token != self._token:
            return  # the flows changed since: a later event is scheduled
        host = self.host
        host.advance()
        self.left = 0.0
        host.log.append((host.env.now, "quota_used_up", self.ctl.spec.id))
        host.request(replan=True)

    def _allocate(self, quantity: float, reset: bool) -> None:
        host = self.host
        host.advance()
        self.left = quantity if reset else self.left + quantity
        self.largest = max(self.largest, quantity, self.left)
        if not math.isclose(quantity, 0.0):
            host.log.append((host.env.now, "quota_allocated", self.ctl.spec.id))
        host.request(replan=True)
