"""Licences of an export control in a run: a flow of applications per covered buyer.

Licensing as it is administered (MOFCOM in 2023 and 2025: one application per export
contract, reviewed within a statutory number of working days, licences valid for a
period): each covered buyer facility files applications, each decided after its own
review, and the buyer's covered flow may ship as far as an approved licence in force
allows. Two forms, chosen by the control's ``application_interval_days``:

single application (``null``)
    The buyer files one application for its whole covered flow when the control
    first covers it. Approved, the licence allows ``approved_share`` of the flow until it
    expires after ``licence_valid_days`` (never, by default); the buyer then files again
    and its flow waits for the new decision. Refused, the buyer files again after
    ``reapply_days``.

a stream of applications (``I`` days)
    The buyer files an application at the control's start and every ``I`` days while the
    control is in force, each for its orders of one interval. An approved application
    licenses ``approved_share`` of the buyer's flow for ``I`` days from its decision (or
    ``licence_valid_days``, if shorter); a refused one licenses nothing and the stream goes
    on. The buyer's licensed share at a time is the largest share of its licences in
    force (licences for one flow do not add up). With a fixed review ``R`` the licences
    tile time from ``start + R`` on; with drawn reviews they overlap or leave gaps, and
    with an approval schedule the licensed share follows the approvals as they arrive.

Each application draws its review (``review_days``, calendar days, or
``review_working_days``, Monday-Friday counted from the filing day) and then whether it
is approved, with the ``approval_probability`` in force on its decision date, from the
run's event stream. Volumes are kept as shares of the buyer's current covered orders: an
application is for the flow the buyer orders, whatever its size that day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.distributions import Distribution
from sim.errors import InputError
from sim.events import GROUP_FIELDS, DestinationGroup, ExportControl, Schedule, value_at


@dataclass
class Application:
    """One licence application: filed, decided on ``decision``; ``share`` -1 if refused."""

    filed: float
    decision: float
    share: float
    until: float  # last day (exclusive) the licence is in force, if approved


class Terms:
    """The licensing terms of one destination group (or the control's own), resolved.

    Dates are days of the run; schedules are kept as arrays.
    """

    def __init__(
        self,
        spec: ExportControl,
        group: DestinationGroup | None,
        start: dt.date,
        where: str,
    ) -> None:
        def field(name: str) -> object:
            value = getattr(group, name, None) if group is not None else None
            return getattr(spec, name) if value is None else value

        self.start_date = start
        self._weekday0 = start.weekday()  # of day 0 of the run (Monday 0), for working days
        self.regime = str(field("regime"))
        working = field("review_working_days")
        if group is not None and group.review_days is not None and not group.review_working_days:
            working = None  # a group's calendar review replaces the control's working days
        self.working_days = working is not None
        review = working if working is not None else field("review_days")
        self.review = Distribution.of(review)  # type: ignore[arg-type]
        self.covered_share = _in_range(field("covered_share"), 0.0, 1.0, where, "covered_share")
        self.approval = _schedule(
            field("approval_probability"), start, where, "approval_probability"
        )
        self.approved = _schedule(field("approved_share"), start, where, "approved_share")
        self._approval_on: dict[float, float] = {}  # approval_at, by day asked
        interval = spec.application_interval_days
        valid = spec.licence_valid_days
        if interval is not None and not interval > 0:
            raise InputError(
                where, "application_interval_days", f"{interval} is not positive", "give days > 0"
            )
        if valid is not None and not valid > 0:
            raise InputError(
                where, "licence_valid_days", f"{valid} is not positive", "give days > 0"
            )
        self.interval = None if interval is None else float(interval)
        self.valid = math.inf if valid is None else float(valid)
        self.reapply = float(spec.reapply_days)

    def decision_day(self, filed: float, rng: np.random.Generator) -> float:
        """Draw the review of an application filed on day ``filed``; return its decision day."""
        review = max(0.0, self.review.draw(rng))
        if not self.working_days:
            return filed + review
        whole = math.floor(filed)
        return float(working_day_after(whole, int(round(review)), self._weekday0)) + (filed - whole)

    def approval_at(self, day: float) -> float:
        """Return the approval probability in force on ``day``.

        Kept per day: applications decided on the same day ask for the same value.
        """
        known = self._approval_on.get(day)
        if known is None:
            known = self._approval_on[day] = _at(self.approval, day)
        return known

    def share_at(self, day: float) -> float:
        """Return the approved share in force on ``day``."""
        return _at(self.approved, day)


def _at(schedule: tuple[np.ndarray, np.ndarray, str], day: float) -> float:
    """Return :func:`value_at` of a schedule; one point holds on every day, either way."""
    values = schedule[1]
    return float(values[0]) if len(values) == 1 else value_at(*schedule, day)


def working_day_after(day: int, n: int, weekday0: int) -> int:
    """Return the run day ``n >= 0`` working days (Monday to Friday) after run day ``day``.

    As ``numpy.busday_offset(day, n, roll="forward")`` with no holidays: a Saturday or
    Sunday first rolls forward to Monday. ``weekday0`` is day 0's weekday (Monday 0).

    Examples
    --------
    >>> working_day_after(4, 1, 0)  # day 0 a Monday: Friday + 1 working day is Monday
    7
    >>> working_day_after(5, 0, 0)  # Saturday rolls forward to Monday
    7
    """
    weekday = (weekday0 + day) % 7
    if weekday >= 5:
        day, weekday = day + 7 - weekday, 0
    weeks, rest = divmod(n, 5)
    return day + 7 * weeks + rest + (2 if weekday + rest >= 5 else 0)


def _in_range(value: object, lo: float, hi: float, where: str, name: str) -> float:
    v = float(value)  # type: ignore[arg-type]
    if not lo <= v <= hi:
        raise InputError(where, name, f"{v} is out of range", f"give a value in [{lo:g}, {hi:g}]")
    return v


def _schedule(
    value: object, start: dt.date, where: str, name: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return a number or a :class:`Schedule` as ``(days, values, interpolate)`` in [0, 1]."""
    if isinstance(value, Schedule):
        days, values = value.days(start, where, name)
        for i, v in enumerate(values):
            _in_range(v, 0.0, 1.0, where, f"{name}.points[{i}].value")
        return days, values, value.interpolate
    return np.zeros(1), np.array([_in_range(value, 0.0, 1.0, where, name)]), "step"


def resolve_terms(spec: ExportControl, start: dt.date, where: str) -> list[Terms]:
    """Return the control's terms per group, then its own (the last entry)."""
    for gi, group in enumerate(spec.groups):
        if all(getattr(group, f) is None for f in GROUP_FIELDS):
            raise InputError(
                where,
                f"groups[{gi}]",
                "gives no term of its own",
                f"give one of {', '.join(GROUP_FIELDS)}, or remove the group",
            )
    own = Terms(spec, None, start, where)
    groups = [Terms(spec, g, start, f"{where}.groups[{i}]") for i, g in enumerate(spec.groups)]
    return [*groups, own]


class Licensing:
    """The licence applications of one control, per buyer facility.

    Parameters
    ----------
    ctl : sim.controls.ControlState
        The control (its spec in force, ``active(now)`` and ``terms_of(buyer)``).
    host : engine run
        Provides ``env``, ``event_rng``, ``log``, ``net``, ``at(day, action)`` and
        ``request(replan)``.
    """

    def __init__(self, ctl: Any, host) -> None:  # type: ignore[no-untyped-def]
        self.ctl = ctl
        self.host = host
        self.applications: dict[int, list[Application]] = {}
        self.next_filing: dict[int, float] = {}  # stream: day of the buyer's next filing
        self.reapply_at: dict[int, float] = {}  # single: day a refused buyer files again
        #: per buyer: (day the share may next change, terms, share), until then the share
        self._known: dict[int, tuple[float, Terms, float]] = {}
        #: the last :meth:`shares`: (its buyers and terms, the day each may next change,
        #: the shares, the earliest of those days), and the buyers that filed since
        #: (their shares are asked again)
        self._shares: tuple[list[tuple[int, Terms]], np.ndarray, np.ndarray, float] | None = None
        self._refiled: set[int] = set()
        self._positions: dict[int, int] = {}  # buyer -> its entry in the kept list

    def shares(self, licensed: list[tuple[int, Terms]]) -> np.ndarray:
        """Return :meth:`share` of each ``(buyer, terms)`` of ``licensed``, as an array.

        The shares are known until the day each may next change (or a filing changes
        one): the array is kept for the same list, and only the entries due since are
        asked again, in list order (asking a known share would file nothing and return
        the same value, so the draws come in the same order).
        """
        now = self.host.env.now
        kept = self._shares
        if kept is None or kept[0] is not licensed:
            values = np.array([self.share(buyer, terms) for buyer, terms in licensed])
            days = np.array([self._known[buyer][0] for buyer, _ in licensed])
            self._positions = {buyer: i for i, (buyer, _) in enumerate(licensed)}
            self._keep(licensed, days, values)
            return values
        _, days, values, next_change = kept
        if now < next_change and not self._refiled:
            return values
        due = set(np.flatnonzero(days <= now).tolist())
        due.update(self._positions[b] for b in self._refiled if b in self._positions)
        values, days = values.copy(), days.copy()  # a handed-out array stays as it was
        for i in sorted(due):
            buyer, terms = licensed[i]
            values[i] = self.share(buyer, terms)
            days[i] = self._known[buyer][0]
        self._keep(licensed, days, values)
        return values

    def _keep(
        self, licensed: list[tuple[int, Terms]], days: np.ndarray, values: np.ndarray
    ) -> None:
        """Keep the shares of ``licensed`` and the day each may next change."""
        next_change = float(days.min()) if len(days) else math.inf
        self._shares = (licensed, days, values, next_change)
        self._refiled.clear()  # whoever filed was just asked

    def share(self, buyer: int, terms: Terms) -> float:
        """Return the buyer's licensed share of its covered flow now (filing what is due).

        The share holds until an application of the buyer is decided or expires, it files
        again, or a refused single application's wait ends: until then it is known.
        """
        now = self.host.env.now
        known = self._known.get(buyer)
        if known is not None and now < known[0] and known[1] is terms:
            return known[2]
        # Keep the applications still pending or licensing: the rest is history.
        apps = self.applications[buyer] = [
            a
            for a in self.applications.get(buyer, ())
            if a.decision > now or (a.share >= 0 and now < a.until)
        ]
        if terms.interval is None:
            if not apps and not self._waiting(buyer):
                self._file(buyer, terms)
        elif buyer not in self.next_filing:  # the stream starts (or restarts) now
            self._file(buyer, terms)
            self._schedule_filing(buyer, now + terms.interval)
        share = max((a.share for a in apps if a.decision <= now and a.share >= 0), default=0.0)
        # Kept applications are pending (until decided) or licensing (until they expire).
        changes = [a.decision if a.decision > now else a.until for a in apps]
        if not apps and terms.interval is None:  # a refused buyer waits to file again
            changes.append(self.reapply_at[buyer])
        self._known[buyer] = (min(changes, default=math.inf), terms, share)
        return share

    def _waiting(self, buyer: int) -> bool:
        """Whether a refused single application waits out ``reapply_days``."""
        return self.reapply_at.get(buyer, -math.inf) > self.host.env.now

    def _file(self, buyer: int, terms: Terms) -> None:
        host = self.host
        now = host.env.now
        decision = terms.decision_day(now, host.event_rng)
        probability = terms.approval_at(decision)
        approved = host.event_rng.random() < probability  # certain at 0 and at 1
        host.random_outcomes += (not terms.review.is_fixed) + (0.0 < probability < 1.0)
        share = terms.share_at(decision) if approved else -1.0
        window = terms.valid if terms.interval is None else min(terms.interval, terms.valid)
        app = Application(now, decision, share, decision + window)
        self.applications[buyer].append(app)
        self._known.pop(buyer, None)
        self._refiled.add(buyer)
        name = f"{self.ctl.spec.id}:{host.net.facility_ids[buyer]}"
        host.log.append((now, "licence_applied", name))

        def decide() -> None:
            outcome = "licence_approved" if share >= 0 else "licence_refused"
            host.log.append((host.env.now, outcome, name))
            if share < 0 and terms.interval is None:
                self.reapply_at[buyer] = host.env.now + terms.reapply
                host.replan_at(self.reapply_at[buyer])
            host.request(replan=True)

        host.at(decision, decide)
        if share >= 0 and math.isfinite(app.until):
            host.at(app.until, lambda: self._expire(name))

    def _expire(self, name: str) -> None:
        self.host.log.append((self.host.env.now, "licence_expired", name))
        self.host.request(replan=True)

    def _schedule_filing(self, buyer: int, day: float) -> None:
        self.next_filing[buyer] = day
        self.host.at(day, lambda: self._file_next(buyer, day))

    def _file_next(self, buyer: int, day: float) -> None:
        if self.next_filing.get(buyer) != day:
            return  # superseded
        ctl, host = self.ctl, self.host
        terms = ctl.terms_of(buyer)
        if not ctl.active(host.env.now) or not ctl.covers_buyer(buyer) or terms.interval is None:
            del self.next_filing[buyer]  # the stream stops; it restarts when covered again
            self._known.pop(buyer, None)
            self._refiled.add(buyer)
            return
        if terms.regime == "license":
            self._file(buyer, terms)
        self._schedule_filing(buyer, day + terms.interval)
        host.request(replan=True)
