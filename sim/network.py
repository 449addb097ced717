"""The compiled network: the world's tables turned into index arrays for one run.

Facilities, input slots (one per facility and input commodity) and links (one per
candidate supplier and input slot, see :class:`Network`) are numbered once here, so
that the engine can move material with vectorised numpy operations between events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.memo import PerWorld
from sim.world import World


def _lane_days(lanes: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {
        (o, d): float(t)
        for o, d, t in zip(
            lanes["origin"], lanes["destination"], lanes["transport_days"], strict=True
        )
    }


def lane_lookup(lanes: dict[tuple[str, str], float], origin: str, destination: str) -> float:
    """Transport days from ``origin`` to ``destination``.

    Looks up the exact lane, then the reverse lane, then ``origin -> *``,
    ``* -> destination`` and ``* -> *``; a domestic lane defaults to 0 days.
    """
    for key in (
        (origin, destination),
        (destination, origin),
        (origin, "*"),
        ("*", destination),
        ("*", "*"),
    ):
        if key in lanes:
            return lanes[key]
    if origin == destination:
        return 0.0
    raise InputError(
        "lanes.csv",
        f"{origin} -> {destination}",
        "no transport time for this trade lane",
        "add the lane or a default row with '*'",
    )


#: Largest number of producers in each bloc a buyer's input slot is linked to besides
#: the suppliers its sourcing rows name (a count of facilities, per input slot and
#: bloc). See :class:`Network`.
CANDIDATE_LINKS = 32


def _commodity_order(
    fac_com: np.ndarray, slot_fac: np.ndarray, slot_com: np.ndarray, n_com: int
) -> list[int]:
    """Commodities ordered raw -> final (every input before the outputs that use it)."""
    edges: dict[int, set[int]] = {k: set() for k in range(n_com)}
    indegree = np.zeros(n_com, dtype=int)
    for f, k in zip(slot_fac, slot_com, strict=True):
        out = int(fac_com[f])
        if out not in edges[int(k)]:
            edges[int(k)].add(out)
            indegree[out] += 1
    ready = sorted(k for k in range(n_com) if indegree[k] == 0)
    order: list[int] = []
    while ready:
        k = ready.pop(0)
        order.append(k)
        for nxt in sorted(edges[k]):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
        ready.sort()
    return order


@dataclass(frozen=True)
class CommodityIndex:
    """Index arrays of a set of commodities: producers, links and the producers' input slots.

    ``producer_slots`` lists the input slots of ``producers_with_inputs`` facility by
    facility; ``producer_slot_offsets`` are the starts of each facility's run, for
    ``numpy.minimum.reduceat``.
    """

    commodities: tuple[int, ...]
    producers: np.ndarray
    links: np.ndarray
    link_slot: np.ndarray
    link_sup: np.ndarray
    zero_lag_links: np.ndarray
    producer_slots: np.ndarray
    producer_slot_offsets: np.ndarray
    producers_with_inputs: np.ndarray
    slot_fac: np.ndarray
    slot_cover_days: np.ndarray


class Network:
    """Index arrays of a world for runs starting on ``start``.

    Attributes (n facilities, M input slots, L links)
    ------------------------------------------------
    fac_com, fac_country : int arrays (n,)
        Output commodity and host country of each facility.
    nameplate_per_day : float array (n,)
        Nameplate capacity in force at the run start (day 0), in output units per day
        (``capacity_per_year / 365``, from the capacity schedule where it has a row on or
        before the start; 0 for a facility closed by then). :meth:`nameplate_at` gives
        it on any day.
    available_day, ramp_up_days : float arrays (n,)
        First day of production (``-inf`` if ``available_from`` is empty) and ramp-up
        length, in run days (day 0 is ``start``) and days.
    available_until_day : float array (n,)
        First run day without production (``available_until``; ``inf`` if empty).
    schedule_fac, schedule_day, schedule_nameplate_per_day : arrays (R,)
        Capacity-schedule rows: facility, run day from which the row applies and the
        nameplate from then on in output units per day; sorted by facility, then day.
    capacity_change_days : float array
        Sorted distinct run days > 0 on which some facility's nameplate or
        availability changes in a step (see :attr:`capacity_change_days`).
    fully_available_from : float
        Run day from which nothing changes any more (see :attr:`fully_available_from`).
    slot_fac, slot_com, slot_coef : arrays (M,)
        Facility, input commodity and input units per output unit of each slot.
    slot_cover_days, slot_initial_cover_days : float arrays (M,)
        Target and initial stock in days of planned use.
    link_sup, link_slot, link_days : arrays (L,)
        Supplier facility, buyer slot and transport days of each link; links are
        sorted by slot.
    link_weight : float array (L,)
        Baseline order weight of each link (sourcing table, else supplier capacity).
    candidate_links : int
        The bound K on a slot's candidate suppliers (below).

    Links
    -----
    A link is a supplier a buyer's input slot may order from. A slot's links are:

    * every producer of its commodity, if no bloc has more than ``candidate_links``
      (K, :data:`CANDIDATE_LINKS` = 32 by default) of them;
    * else its named suppliers (producers its sourcing rows give a weight > 0; always
      linked) and, in each bloc (as at the run start), the K largest producers of the
      commodity there by :meth:`candidate_capacity_per_day` (ties go to the facility
      listed first; all of them in a bloc with at most K).

    Only linked producers get a slot's orders: its baseline split (sourcing weights,
    else capacity over its links), the capacity fallback when its named suppliers are
    all unavailable, and the orders redirected to qualified new suppliers when a control
    cuts it off (:mod:`sim.substitution`). Producers a slot does not name are
    alternatives of weight 0. So a slot without sourcing rows of a commodity with more
    than K producers in a bloc orders from each bloc's K largest in proportion to
    capacity, and a cut-off buyer looks for new suppliers among them. The bound is per
    bloc so that a ban by the bloc holding most of the large plants still leaves a
    buyer K candidates in every other bloc (with one global top K, a buyer cut off
    from a bloc that holds most of the K largest plants would find few alternatives).
    The smaller producers still sell to final demand and to buyers that name them. The
    bound keeps the links of a world growing like its facilities (at most K per bloc
    plus the named suppliers per slot), not like facilities squared; the bundled world
    has at most 19 producers of a commodity, so every producer is linked there.
    """

    def __init__(
        self, world: World, start: dt.date, candidate_links: int = CANDIDATE_LINKS
    ) -> None:
        if candidate_links < 1:
            raise ValueError(f"candidate_links must be at least 1, not {candidate_links}")
        fac = world.facilities
        com = world["commodities"]
        self.start = start
        self.facility_ids: list[str] = fac["facility"].tolist()
        self.commodities: list[str] = com["commodity"].tolist()
        self.countries: list[str] = world["countries"]["country"].tolist()
        com_index = {c: i for i, c in enumerate(self.commodities)}
        country_index = {c: i for i, c in enumerate(self.countries)}
        self.n = len(fac)
        self.fac_com = fac["commodity"].map(com_index).to_numpy(dtype=np.int64)
        self.fac_country = fac["country"].map(country_index).to_numpy(dtype=np.int64)
        self.fac_type: list[str] = fac["type"].tolist()
        start_ts = pd.Timestamp(start)

        def run_day(dates: pd.Series, empty: float) -> np.ndarray:
            return np.where(
                dates.isna(),
                empty,
                (dates - start_ts).dt.days.to_numpy(dtype=float, na_value=0.0),
            )

        self.available_day = run_day(fac["available_from"], -np.inf)
        self.available_until_day = run_day(fac["available_until"], np.inf)
        self.ramp_up_days = fac["ramp_up_days"].to_numpy(dtype=float)
        # Joint plants (joint_products table): capacity and recipes are per unit of feed;
        # the plant's output is its own product, a co-product row follows the plant.
        self.joint_parent = np.full(self.n, -1, dtype=np.int64)
        self.joint_ratio = np.zeros(self.n)
        feed_yield = np.ones(self.n)
        joint = world["joint_products"]
        if len(joint):
            index = {f: i for i, f in enumerate(self.facility_ids)}
            own_yield = {
                f: y
                for f, c, y in zip(
                    joint["facility"], joint["commodity"], joint["yield_per_unit"], strict=True
                )
                if c == fac["commodity"].iloc[index[f]]
            }
            for f, c, y in zip(
                joint["facility"], joint["commodity"], joint["yield_per_unit"], strict=True
            ):
                plant = index[f]
                feed_yield[plant] = own_yield[f]
                if c != fac["commodity"].iloc[plant]:
                    v = index[f"{f}:{c}"]
                    feed_yield[v] = float(y)
                    self.joint_parent[v] = plant
                    self.joint_ratio[v] = float(y) / own_yield[f] if own_yield[f] > 0 else 0.0
        self._base_nameplate_per_day = (
            fac["capacity_per_year"].to_numpy(dtype=float) / 365.0 * feed_yield
        )
        #: whether any facility is a joint plant's co-product
        self.has_joint = bool((self.joint_parent >= 0).any())
        # Capacity schedule, sorted by facility then day; a row applies from its day to
        # the day of the facility's next row.
        schedule = world["capacity_schedule"]
        sched_fac = (
            schedule["facility"]
            .map({f: i for i, f in enumerate(self.facility_ids)})
            .to_numpy(dtype=np.int64)
        )
        sched_day = run_day(schedule["date"], np.nan)
        order = np.lexsort((sched_day, sched_fac))
        self.schedule_fac = sched_fac[order]
        self.schedule_day = sched_day[order]
        self.schedule_nameplate_per_day = (
            schedule["capacity_per_year"].to_numpy(dtype=float)[order]
            / 365.0
            * feed_yield[self.schedule_fac]
        )
        same_next = np.append(self.schedule_fac[1:] == self.schedule_fac[:-1], False)
        self._schedule_next_day = np.where(
            same_next, np.append(self.schedule_day[1:], np.inf), np.inf
        )
        steps = np.concatenate([self.available_day, self.available_until_day, self.schedule_day])
        self.capacity_change_days: np.ndarray = np.unique(steps[np.isfinite(steps) & (steps > 0)])
        """Sorted distinct run days > 0 on which some facility's nameplate or availability
        changes in a step: ``available_from``, ``available_until`` and capacity-schedule
        dates. Ramps are linear between ``available_day`` and ``available_day +
        ramp_up_days`` and have no step at their end."""
        ends = np.concatenate(
            [self.available_day + self.ramp_up_days, self.available_until_day, self.schedule_day]
        )
        finite = ends[np.isfinite(ends)]
        self.fully_available_from: float = float(finite.max()) if len(finite) else -np.inf
        """Run day from which :meth:`nameplate_at` and :meth:`availability_at` no longer
        change (the last ramp end, closure or schedule date, even before day 0); ``-inf``
        if no facility has any date. From then on availability is 1 for every facility but
        those closed (0)."""
        self.nameplate_per_day = self.nameplate_at(0.0)
        #: whether nameplate can differ from its start value (a schedule or a closure)
        self.dated_nameplate = bool(len(self.schedule_day)) or bool(
            np.isfinite(self.available_until_day).any()
        )
        self.qualification_days = com["qualification_days"].to_numpy(dtype=float)
        self.substitution_ramp_days = com["substitution_ramp_days"].to_numpy(dtype=float)

        # Input slots: per-facility recipe rows replace the type's rows.
        recipes = world["recipes"]
        cover = {
            (t, i): (c, c if np.isnan(ic) else ic)
            for t, i, c, ic in zip(
                world["inventory"]["facility_type"],
                world["inventory"]["input"],
                world["inventory"]["target_cover_days"],
                world["inventory"]["initial_cover_days"],
                strict=True,
            )
        }
        by_fac = {f: g for f, g in recipes[recipes["facility"] != ""].groupby("facility")}
        by_type = {t: g for t, g in recipes[recipes["facility"] == ""].groupby("facility_type")}
        slot_fac: list[int] = []
        slot_com: list[int] = []
        slot_coef: list[float] = []
        slot_cover: list[float] = []
        slot_init: list[float] = []
        # A recipe's substitute input is a shadow slot right after its original: idle
        # (no use, no orders) until the facility switches to it.
        sub_of: list[int] = []
        sub_penalty: list[float] = []
        sub_qual: list[float] = []
        sub_share: list[float] = []
        durable: list[tuple[bool, float, float]] = []  # (durable, life days, install days)
        for i, (fid, ftype) in enumerate(zip(self.facility_ids, self.fac_type, strict=True)):
            rows = by_fac.get(fid, by_type.get(ftype))
            if rows is None or self.joint_parent[i] >= 0:  # a co-product has no inputs
                continue
            for inp, q, sub, sq, pen, qd, share, dur, life, lag in zip(
                rows["input"],
                rows["quantity_per_unit"],
                rows["substitute_input"],
                rows["substitute_quantity_per_unit"],
                rows["substitute_output_penalty_share"],
                rows["substitute_qualification_days"],
                rows["substitute_max_share"],
                rows["durable"],
                rows["service_life_days"],
                rows["installation_days"],
                strict=True,
            ):
                original = len(slot_fac)
                c, ic = cover.get((ftype, inp), (0.0, 0.0))
                entries = [(inp, float(q), c, ic, -1, 0.0, np.nan)]
                if sub:
                    sc, sic = cover.get((ftype, sub), (c, 0.0))
                    entries.append((sub, float(sq), sc, sic, original, float(pen), float(qd)))
                for com_id, coef, tc, icv, of, p, qdays in entries:
                    sub_share.append(float(share) if of >= 0 else 0.0)
                    durable.append((bool(dur), float(life), float(lag)))
                    slot_fac.append(i)
                    slot_com.append(com_index[com_id])
                    slot_coef.append(coef / feed_yield[i])  # per unit of own output
                    slot_cover.append(tc)
                    slot_init.append(icv)
                    sub_of.append(of)
                    sub_penalty.append(p)
                    sub_qual.append(qdays)
        self.m = len(slot_fac)
        #: for a substitute slot, the index of the slot it replaces (-1 for others)
        self.slot_substitute_of = np.array(sub_of, dtype=np.int64)
        self.slot_substitute_penalty = np.array(sub_penalty, dtype=float)
        self.slot_substitute_qualification_days = np.array(sub_qual, dtype=float)
        self.substitute_slots = np.flatnonzero(self.slot_substitute_of >= 0)
        #: for a substitute slot, the design limit: the most of the facility's planned
        #: output that may run on the substitute (share 0-1)
        self.slot_substitute_max_share = np.array(sub_share, dtype=float)
        #: durable (installed) inputs: flag, service life and installation lag in days
        self.slot_durable = np.array([d for d, _, _ in durable], dtype=bool)
        self.slot_service_life_days = np.array([v for _, v, _ in durable], dtype=float)
        self.slot_installation_days = np.array([v for _, _, v in durable], dtype=float)
        self.slot_fac = np.array(slot_fac, dtype=np.int64)
        self.slot_com = np.array(slot_com, dtype=np.int64)
        self.slot_coef = np.array(slot_coef, dtype=float)
        self.slot_cover_days = np.array(slot_cover, dtype=float)
        self.slot_initial_cover_days = np.array(slot_init, dtype=float)

        # Links, sorted by slot (and by supplier within a slot): see _candidates.
        producers = {k: np.flatnonzero(self.fac_com == k) for k in range(len(self.commodities))}
        lanes = _lane_days(world["lanes"])
        self.candidate_links = candidate_links
        bloc_of = world.bloc_of()
        fac_bloc = np.array([bloc_of[self.countries[c]] for c in self.fac_country], dtype=object)
        self.link_sup, self.link_weight = self._links(world["sourcing"], producers, fac_bloc)
        self.l = len(self.link_sup)
        counts = np.diff(np.append(self._slot_starts, self.l))
        self.link_slot = np.repeat(np.arange(self.m, dtype=np.int64), counts)
        buyer_country = self.fac_country[self.slot_fac[self.link_slot]]
        supplier_country = self.fac_country[self.link_sup]
        # Lane days per country pair that trades (looked up once per pair).
        pair_code = supplier_country * len(self.countries) + buyer_country
        codes, inverse = np.unique(pair_code, return_inverse=True)
        days = [
            lane_lookup(
                lanes,
                self.countries[int(c) // len(self.countries)],
                self.countries[int(c) % len(self.countries)],
            )
            for c in codes
        ]
        self.link_days = np.array(days, dtype=float)[inverse] if self.l else np.zeros(0)
        self.link_buyer = self.slot_fac[self.link_slot] if self.l else np.zeros(0, dtype=np.int64)
        self.link_com = self.slot_com[self.link_slot] if self.l else np.zeros(0, dtype=np.int64)
        # First link of every slot, for per-slot reductions (each slot has >= 1 link).
        self.slot_link_start = np.searchsorted(self.link_slot, np.arange(self.m))
        self.link_lagged = self.link_days > 0
        # Lagged links grouped by lane days (for scheduling arrivals in bulk).
        lagged = np.flatnonzero(self.link_lagged)
        self.lag_order = lagged[np.argsort(self.link_days[lagged], kind="stable")]
        self.lag_days, starts = np.unique(self.link_days[self.lag_order], return_index=True)
        self.lag_starts = starts.astype(np.int64)
        self.lag_ends = np.append(self.lag_starts[1:], len(self.lag_order)).astype(np.int64)

        # Per-commodity index arrays, raw -> final.
        # A co-product is settled after its plant's own product (as if made from it).
        co = np.flatnonzero(self.joint_parent >= 0)
        self.settle_order = _commodity_order(
            self.fac_com,
            np.concatenate([self.slot_fac, co]).astype(np.int64),
            np.concatenate([self.slot_com, self.fac_com[self.joint_parent[co]]]).astype(np.int64),
            len(self.commodities),
        )
        # Plan levels, final -> raw: a commodity is planned after every commodity made
        # from it (their orders are its demand) and after its plants' co-products (their
        # need sets the plant's output); a level lists its commodities in reverse settle
        # order, the order in which they were planned one by one.
        plan_level: dict[int, int] = {}
        for k in reversed(self.settle_order):
            made = self.fac_com[self.link_buyer[self.link_com == k]]
            co_products = self.fac_com[np.isin(self.joint_parent, producers[k])]
            after = set(made.tolist()) | set(co_products.tolist())
            plan_level[k] = max([plan_level[j] + 1 for j in after], default=0)
        self.plan_levels = [
            self._index([k for k in reversed(self.settle_order) if plan_level[k] == lv], producers)
            for lv in sorted(set(plan_level.values()))
        ]
        # Commodities whose producers take no same-day (zero-lag) input from each other
        # are settled together: a level holds commodities whose zero-lag inputs all
        # come from lower levels.
        level: dict[int, int] = {}
        for k in self.settle_order:
            feeds = self.slot_com[np.isin(self.slot_fac, producers[k])]
            zero_lag_into = self.link_com[
                (self.link_days == 0) & np.isin(self.link_buyer, producers[k])
            ]
            level[k] = max(
                [level[c] + 1 for c in set(feeds.tolist()) & set(zero_lag_into.tolist())],
                default=0,
            )
            plants = self.joint_parent[producers[k]]
            for c in set(self.fac_com[plants[plants >= 0]].tolist()):
                level[k] = max(level[k], level[c] + 1)
        self.settle_levels = [
            self._index([k for k in self.settle_order if level[k] == lv], producers)
            for lv in sorted(set(level.values()))
        ]

    def _links(
        self, sourcing: pd.DataFrame, producers: dict[int, np.ndarray], fac_bloc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Supplier and baseline weight of every link, slot by slot (see :class:`Network`).

        Sets ``_slot_starts``, the first link of each slot.
        """
        weights: dict[tuple[str, str], dict[str, float]] = {}
        for b, c, s, w in zip(
            sourcing["buyer"],
            sourcing["commodity"],
            sourcing["supplier"],
            sourcing["weight"],
            strict=True,
        ):
            weights.setdefault((b, c), {})[s] = float(w)
        index = self.facility_index()
        size = self.candidate_capacity_per_day()
        # Per commodity with more than candidate_links producers in some bloc: the
        # candidate_links largest producers of each bloc (all of a smaller bloc's).
        largest = {}
        for k, p in producers.items():
            blocs = fac_bloc[p]
            if len(p) <= self.candidate_links:
                continue
            kept = []
            for bloc in sorted(set(blocs.tolist())):
                q = p[blocs == bloc]
                by_size = np.lexsort((q, -size[q]))  # largest first, ties in facility order
                kept.append(q[by_size[: self.candidate_links]])
            chosen = np.sort(np.concatenate(kept))
            if len(chosen) < len(p):
                largest[k] = chosen
        suppliers: list[np.ndarray] = []
        link_weights: list[np.ndarray] = []
        self._slot_starts = np.zeros(self.m, dtype=np.int64)
        first = 0
        for mi in range(self.m):
            buyer, k = int(self.slot_fac[mi]), int(self.slot_com[mi])
            kname = self.commodities[k]
            # The most specific sourcing rows: the buyer's, its country's, else '*'.
            named = (
                weights.get((self.facility_ids[buyer], kname))
                or weights.get((self.countries[self.fac_country[buyer]], kname))
                or weights.get(("*", kname))
            )
            chosen = producers[k]
            if k in largest:
                own = [
                    index[s]
                    for s, w in (named or {}).items()
                    if w > 0 and s in index and self.fac_com[index[s]] == k
                ]
                chosen = np.union1d(largest[k], np.array(own, dtype=np.int64))
            suppliers.append(chosen)
            link_weights.append(
                self.nameplate_per_day[chosen].astype(float)
                if named is None
                else np.array([named.get(self.facility_ids[j], 0.0) for j in chosen], dtype=float)
            )
            self._slot_starts[mi] = first
            first += len(chosen)
        if not suppliers:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return (
            np.concatenate(suppliers).astype(np.int64),
            np.concatenate(link_weights).astype(float),
        )

    def candidate_capacity_per_day(self) -> np.ndarray:
        """Capacity by which producers are ranked as candidate suppliers (see :class:`Network`).

        Returns
        -------
        float array (n,)
            The largest nameplate each facility has from the run start on, in output
            units per day: its nameplate at day 0 (:attr:`nameplate_per_day`) or a later
            capacity-schedule row before its ``available_until``, whichever is larger.
        """
        size = self.nameplate_per_day.copy()
        later = (self.schedule_day > 0) & (
            self.schedule_day < self.available_until_day[self.schedule_fac]
        )
        np.maximum.at(size, self.schedule_fac[later], self.schedule_nameplate_per_day[later])
        return size

    def nameplate_at(self, day: float) -> np.ndarray:
        """Nameplate capacity of each facility on run day ``day``.

        Parameters
        ----------
        day : float
            Run day (0 is the run start; fractions allowed).

        Returns
        -------
        float array (n,)
            Output units per day: ``capacity_per_year / 365`` of the facility's latest
            capacity-schedule row with ``schedule_day <= day``, else of the facilities
            table; 0 from ``available_until_day`` on. Before ``available_day`` it is the
            nameplate the facility will have, so multiply by :meth:`availability_at` for
            the capacity that can produce. A new array on every call.
        """
        out = self._base_nameplate_per_day.copy()
        if len(self.schedule_day):
            live = (self.schedule_day <= day) & (day < self._schedule_next_day)
            out[self.schedule_fac[live]] = self.schedule_nameplate_per_day[live]
        out[day >= self.available_until_day] = 0.0
        return out

    def capacity_at(self, day: float, kernels: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Return :meth:`availability_at` and :meth:`nameplate_at` of ``day``, together.

        With ``kernels`` (:mod:`sim.kernels`) both are computed in one compiled loop,
        with the same results; None runs the two methods.
        """
        if kernels is None:
            return self.availability_at(day), self.nameplate_at(day)
        return kernels.dated_capacity(
            float(day),
            self.available_day,
            self.ramp_up_days,
            self.available_until_day,
            self._base_nameplate_per_day,
            self.schedule_day,
            self._schedule_next_day,
            self.schedule_fac,
            self.schedule_nameplate_per_day,
        )

    def availability_at(self, day: float) -> np.ndarray:
        """Share (0-1) of each facility's nameplate that is available on run day ``day``.

        Parameters
        ----------
        day : float
            Run day (0 is the run start; fractions allowed).

        Returns
        -------
        float array (n,)
            0 before ``available_day``; ``(day - available_day) / ramp_up_days`` clipped
            to 0-1 during the ramp (1 at once when ``ramp_up_days`` is 0); 1 after; 0
            from ``available_until_day`` on. A new array on every call.
        """
        since = day - self.available_day
        with np.errstate(divide="ignore", invalid="ignore"):
            ramp = np.where(self.ramp_up_days > 0, since / self.ramp_up_days, 1.0)
        avail = np.where(since >= 0, np.clip(ramp, 0.0, 1.0), 0.0)
        return np.where(day >= self.available_until_day, 0.0, avail)

    def _index(self, commodities: list[int], producers: dict[int, np.ndarray]) -> CommodityIndex:
        """Index arrays of a set of commodities (see :class:`CommodityIndex`)."""
        slot_start = np.searchsorted(self.slot_fac, np.arange(self.n))
        slot_end = np.searchsorted(self.slot_fac, np.arange(self.n), side="right")
        prods = np.concatenate([producers[k] for k in commodities]).astype(np.int64)
        with_inputs = prods[slot_end[prods] > slot_start[prods]]
        if len(with_inputs):
            pslots = np.concatenate([np.arange(slot_start[j], slot_end[j]) for j in with_inputs])
            counts = (slot_end - slot_start)[with_inputs]
            offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        else:
            pslots = offsets = np.zeros(0)
        links = np.flatnonzero(np.isin(self.link_com, commodities))
        return CommodityIndex(
            commodities=tuple(commodities),
            producers=prods,
            links=links,
            link_slot=self.link_slot[links],
            link_sup=self.link_sup[links],
            zero_lag_links=links[self.link_days[links] == 0],
            producer_slots=pslots.astype(np.int64),
            producer_slot_offsets=offsets.astype(np.int64),
            producers_with_inputs=with_inputs,
            slot_fac=self.slot_fac[pslots.astype(np.int64)],
            slot_cover_days=self.slot_cover_days[pslots.astype(np.int64)],
        )

    def frozen(self) -> Network:
        """Make every array of the network read-only (in place); return the network."""
        for ci in (*self.plan_levels, *self.settle_levels):
            for value in vars(ci).values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return self

    def require_country(self, where: str, field: str, code: str) -> None:
        """Raise an :class:`InputError` unless ``code`` is a country of the world."""
        if code not in self.countries:
            raise InputError(
                where, field, f"unknown country '{code}'", "use an ISO3 code from countries.csv"
            )

    def require_commodity(self, where: str, field: str, commodity: str) -> None:
        """Raise an :class:`InputError` unless ``commodity`` is a commodity of the world."""
        if commodity not in self.commodities:
            raise InputError(
                where,
                field,
                f"unknown commodity '{commodity}'",
                "use an id from commodities.csv",
            )

    def facility_index(self) -> dict[str, int]:
        """Map facility id to index."""
        return {f: i for i, f in enumerate(self.facility_ids)}


_NETWORKS: PerWorld[Network] = PerWorld()


def network_of(world: World, start: dt.date) -> Network:
    """Return the network of ``world`` for runs starting on ``start``, built once.

    The network is kept while the world lives and shared by every run on it; its
    arrays are read-only, so that no run can change what the next one reads.
    """
    return _NETWORKS.get(world, start, lambda: Network(world, start).frozen())
