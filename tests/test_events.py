"""Events worked out by hand: control changes, outages, licences, quotas, front-running,
stockpile releases, and determinism.

Unless a test says otherwise the world is the one-supplier, one-consumer fixture of
:mod:`tests.event_worlds`: demand d = 10 widgets/day, 1 t ore per widget, the consumer
holds S = 20 days x 10 t = 200 t of ore, the CHN -> USA lane takes 0 days, the supplier
has 100 t/day of capacity, and no alternative supplier ever qualifies. Orders follow
``use + (target position - position) / 21`` and are re-planned at every review (days
7, 14, 21, ...) and at every scheduled event; with a zero-lag lane a stock-out of the
only input stops output at once and any order >= use restores full output at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.distributions import Distribution
from sim.engine import simulate
from sim.errors import InputError
from sim.events import (
    CapacityInvestment,
    DemandChange,
    Destinations,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    GeneralLicence,
    MembershipChange,
    Selector,
    SourcingPolicy,
    StockpileRelease,
    with_changes,
)
from sim.examples import example_tables
from sim.metrics import compute_metrics, material_balance
from sim.pair import simulate_pair
from sim.world import World
from tests.event_worlds import (
    CON,
    ORE_SLOT,
    START,
    SUP,
    censored,
    control,
    log_days,
    metric,
    run_pair,
    supplier_consumer_tables,
    supplier_consumer_world,
    zero_days,
)

D, S = 10.0, 200.0  # demand per day and initial (= target) stock of the fixture
ADJ = 21.0  # Settings.stock_adjust_days


# ---------------------------------------------------------------- control changes
def test_suspend_then_resume_a_ban() -> None:
    world = supplier_consumer_world()
    events = [
        control(),  # ban from day 10, open-ended
        ExportControlChange(control="ctl", date=40, action="suspend"),
        ExportControlChange(control="ctl", date=70, action="resume"),
    ]
    actual, baseline, m = run_pair(world, events, horizon=120)
    out = actual.output[:, CON]
    # Stock 200 t at 10 t/day lasts 20 days: output stops on day 30 and stays at 0 until the
    # suspension on day 40 (10 days at zero).
    assert zero_days(actual)[:10] == list(range(30, 40))
    # From day 40 the empty stock is refilled: orders 10 + 200/21 > use, so output is back
    # at d at once (zero-lag lane) and stays there until the resumed ban empties the stock.
    assert np.allclose(out[40:86], D)
    # Refill: the gap g = 200 - stock closes at g/21 per day, orders re-planned at the
    # suspension (40) and the reviews 42, 49, 56, 63 and 70:
    # g(42) = 200 (1 - 2/21) = 200 x 19/21; each week multiplies g by 1 - 7/21 = 2/3:
    # g(70) = 200 x 19/21 x (2/3)^4 = 60800/1701 = 35.744; stock s70 = 200 - g(70) = 164.256.
    s70 = S - S * (19 / 21) * (2 / 3) ** 4
    assert actual.stock[69, ORE_SLOT] == pytest.approx(s70, rel=1e-9)
    # The ban resumes on day 70: the stock lasts s70/10 = 16.43 days, out at 86.43;
    # day 86 still makes s70 - 16 x 10 = 4.256, then 0 to the horizon.
    assert out[86] == pytest.approx(s70 - 160.0, rel=1e-9)
    assert zero_days(actual)[10:] == list(range(87, 120))
    # Loss over t0 = 10 .. T = 120: 10 x (40 - 30) + 10 x (120 - 70) - s70
    #   = 100 + 500 - 164.256 = 435.744.
    assert metric(m, "output_loss") == pytest.approx(100 + D * (120 - 70) - s70, rel=1e-9)
    # TTS = 30 - 10 = 20; the loss lasts to the horizon: TTR censored.
    assert metric(m, "time_to_survive_days") == 20
    assert censored(m, "time_to_recover_days")
    assert [w for _, w, _ in actual.log if w.startswith("control_")] == [
        "control_suspend",
        "control_resume",
    ]
    assert np.allclose(baseline.output[:, CON], D)


def test_suspend_without_resume_ends_the_ban() -> None:
    # A suspension on day 40 of an open-ended ban from day 10 acts as a ban of D = 30 days:
    # loss = d (D - S/d) = 10 x (30 - 20) = 100, full output again from day 40.
    world = supplier_consumer_world()
    events = [control(), ExportControlChange(control="ctl", date=40, action="suspend")]
    actual, _, m = run_pair(world, events, horizon=120)
    assert metric(m, "output_loss") == pytest.approx(100.0, rel=1e-9)
    assert zero_days(actual) == list(range(30, 40))
    assert np.allclose(actual.output[40:, CON], D)


def test_tighten_pending_licence_to_ban() -> None:
    # Licence from day 10 with a 50-day review: alone it would be granted on day 60, so
    # output is 0 on days 30..59 (stock out on day 30): loss = 10 x 30 = 300.
    world = supplier_consumer_world()
    licence = control(regime="license", review_days=50)
    _, _, m_licence = run_pair(world, [licence], horizon=120)
    assert metric(m_licence, "output_loss") == pytest.approx(300.0, rel=1e-9)
    # Tightened to a ban on day 20: the approval on day 60 no longer lets anything through;
    # output is 0 on every day from 30 to the horizon: loss = 10 x (120 - 30) = 900.
    tighten = ExportControlChange(
        control="ctl", date=20, action="tighten", changes={"regime": "ban"}
    )
    actual, _, m = run_pair(world, [licence, tighten], horizon=120)
    assert zero_days(actual) == list(range(30, 120))
    assert metric(m, "output_loss") == pytest.approx(900.0, rel=1e-9)
    assert log_days(actual, "control_tighten") == [20.0]
    assert log_days(actual, "licence_approved") == [60.0]


def test_tighten_granted_licence_to_ban() -> None:
    # Licence with a 0-day review, always approved: nothing changes and the stock stays at
    # 200 t. Tightened to a ban on day 50: the stock lasts 20 days, output is 0 from day 70:
    # loss = 10 x (120 - 70) = 500, TTS = 70 - 10 = 60 (t0 is the control's start).
    world = supplier_consumer_world()
    events = [
        control(regime="license", review_days=0),
        ExportControlChange(control="ctl", date=50, action="tighten", changes={"regime": "ban"}),
    ]
    actual, _, m = run_pair(world, events, horizon=120)
    assert np.allclose(actual.stock[:50, ORE_SLOT], S)
    assert zero_days(actual) == list(range(70, 120))
    assert metric(m, "output_loss") == pytest.approx(500.0, rel=1e-9)
    assert metric(m, "time_to_survive_days") == 60


def test_ease_ban_to_licence() -> None:
    # Ban from day 10: stock out on day 30. Eased on day 40 to a licence with a 20-day
    # review: the buyer applies on day 40, is approved on day 60; output is 0 on days
    # 30..59 and back at d from day 60: loss = 10 x 30 = 300, TTS 20, TTR 60 - 10 = 50.
    world = supplier_consumer_world()
    events = [
        control(),
        ExportControlChange(
            control="ctl", date=40, action="ease", changes={"regime": "license", "review_days": 20}
        ),
    ]
    actual, _, m = run_pair(world, events, horizon=120)
    assert zero_days(actual) == list(range(30, 60))
    assert np.allclose(actual.output[60:, CON], D)
    assert metric(m, "output_loss") == pytest.approx(300.0, rel=1e-9)
    assert metric(m, "time_to_survive_days") == 20
    assert metric(m, "time_to_recover_days") == 50
    assert log_days(actual, "licence_applied") == [40.0]
    assert log_days(actual, "licence_approved") == [60.0]


# ---------------------------------------------------------------- facility outages
@pytest.mark.parametrize(("days", "expected_loss"), [(50, 300.0), (35, 150.0), (20, 0.0)])
def test_full_outage_of_the_only_supplier(days: float, expected_loss: float) -> None:
    # Factor 0 from day 10 for D days on the only supplier: like a ban, the consumer loses
    # d (D - S/d): D = 50 -> 300, D = 35 -> 150, D = 20 -> 0.
    world = supplier_consumer_world()
    outage = FacilityOutage(
        select=Selector(facilities=("sup",)), capacity_factor=0.0, start=10, duration_days=days
    )
    actual, _, m = run_pair(world, [outage], horizon=120)
    assert metric(m, "output_loss") == pytest.approx(expected_loss, rel=1e-9, abs=1e-9)
    # The supplier itself makes nothing for D days: its loss is 10 x D.
    assert metric(m, "output_loss", "sup", "ore") == pytest.approx(D * days, rel=1e-9)
    # Only the outaged facility is targeted: the supplier's loss is direct, the consumer's
    # (through its empty stock) indirect, for the facility and the world scopes alike.
    assert actual.facilities["targeted"].tolist() == [True, False]
    assert metric(m, "direct_loss", "sup", "ore") == pytest.approx(D * days, rel=1e-9)
    assert metric(m, "indirect_loss", "sup", "ore") == 0.0
    assert metric(m, "direct_loss") == 0.0
    assert metric(m, "indirect_loss") == pytest.approx(expected_loss, rel=1e-9, abs=1e-9)
    assert metric(m, "indirect_loss", "world", kind="world") == pytest.approx(
        expected_loss, rel=1e-9, abs=1e-9
    )
    assert metric(m, "direct_loss", "world", "ore", kind="world") == pytest.approx(
        D * days, rel=1e-9
    )
    if expected_loss > 0:
        # Stock lasts S/d = 20 days: TTS = 20; full output again when the outage ends,
        # TTR = D (the supplier has spare capacity to refill).
        assert metric(m, "time_to_survive_days") == 20
        assert metric(m, "time_to_recover_days") == days
        assert zero_days(actual) == list(range(30, 10 + int(days)))
    else:
        assert censored(m, "time_to_survive_days")


def test_half_capacity_outage_of_a_tight_supplier() -> None:
    # Supplier capacity c = 10 t/day = use; factor 0.5 from day 10 for 60 days: it ships
    # 5 t/day, the stock falls at 10 - 5 = 5 t/day and lasts 200 / 5 = 40 days (to day 50);
    # output is then limited to the inflow, 5/day, until the outage ends on day 70.
    # Loss = 5 x (70 - 50) = 100; TTS = 50 - 10 = 40; TTR = 70 - 10 = 60; peak shortfall 0.5.
    world = supplier_consumer_world(supplier_capacity_per_day=10)
    outage = FacilityOutage(
        select=Selector(facilities=("sup",)), capacity_factor=0.5, start=10, duration_days=60
    )
    actual, _, m = run_pair(world, [outage], horizon=120)
    assert np.allclose(actual.output[:50, CON], D)
    assert np.allclose(actual.output[50:70, CON], 5.0)
    assert np.allclose(actual.output[70:, CON], D)  # inflow 10 = use from day 70
    assert np.allclose(actual.output[10:70, SUP], 5.0)
    assert metric(m, "output_loss") == pytest.approx(100.0, rel=1e-9)
    assert metric(m, "time_to_survive_days") == 40
    assert metric(m, "time_to_recover_days") == 60
    assert metric(m, "peak_shortfall_share") == pytest.approx(0.5, rel=1e-9)
    # The supplier loses 5 t/day for 60 days = 300, all of it direct.
    assert metric(m, "direct_loss", "sup", "ore") == pytest.approx(300.0, rel=1e-9)
    assert metric(m, "indirect_loss") == pytest.approx(100.0, rel=1e-9)


# ---------------------------------------------------------------- licences
R, RD = 25.0, 15.0  # review and re-application days of the random-approval licence


def _random_licence() -> ExportControl:
    return control(regime="license", review_days=R, approval_probability=0.5, reapply_days=RD)


def test_random_approval_is_reproducible_and_reapplies() -> None:
    world = supplier_consumer_world()
    refusals: set[int] = set()
    for seed in range(12):
        actual, _, m = run_pair(world, [_random_licence()], horizon=200, seed=seed)
        again, _, m_again = run_pair(world, [_random_licence()], horizon=200, seed=seed)
        # The same seed gives the same decisions and the same output.
        assert again.log == actual.log
        assert np.array_equal(again.output, actual.output)
        pd.testing.assert_frame_equal(m_again, m)
        # Application j (j = 0, 1, ...) is filed on day 10 + j (R + RD) and decided R days
        # later; after a refusal the buyer re-applies RD days later.
        applied = log_days(actual, "licence_applied")
        refused = log_days(actual, "licence_refused")
        approved = log_days(actual, "licence_approved")
        k = len(refused)
        assert applied == [10 + j * (R + RD) for j in range(len(applied))]
        assert refused == [10 + R + j * (R + RD) for j in range(k)]
        refusals.add(k)
        if approved:
            # The first approval (after k refusals) comes on day a = 10 + R + k (R + RD);
            # the stock runs out on day 30: loss = 10 x (a - 30) = 50 + 400 k.
            a = 10 + R + k * (R + RD)
            assert approved == [a]
            assert zero_days(actual) == list(range(30, int(a)))
            assert metric(m, "output_loss") == pytest.approx(D * (a - 30), rel=1e-9)
        else:
            # Refused until the horizon: zero output from day 30 to 200, loss 10 x 170.
            assert metric(m, "output_loss") == pytest.approx(D * 170, rel=1e-9)
    # With probability 0.5 some of twelve seeds are approved at once and some are refused.
    assert 0 in refusals
    assert max(refusals) >= 1


@pytest.mark.parametrize("date", [50, "2025-02-20", "+50d"])
def test_general_licence_ends_the_gap(date: object) -> None:
    # Licence from day 10, every application refused; a general licence for the consumer
    # from day 50 (2025-02-20 is day 50 after 2025-01-01). Stock out on day 30, output 0 on
    # days 30..49, full from day 50: loss = 10 x 20 = 200, TTS 20, TTR 50 - 10 = 40.
    world = supplier_consumer_world()
    lic = control(
        regime="license",
        review_days=20,
        approval_probability=0.0,
        general_licences=(
            GeneralLicence(buyers=Selector(facilities=("con",)), date=date),  # type: ignore[arg-type]
        ),
    )
    actual, _, m = run_pair(world, [lic], horizon=120)
    assert zero_days(actual) == list(range(30, 50))
    assert np.allclose(actual.output[50:, CON], D)
    assert metric(m, "output_loss") == pytest.approx(200.0, rel=1e-9)
    assert metric(m, "time_to_recover_days") == 40


# ---------------------------------------------------------------- quotas
@pytest.mark.parametrize("approved_share", [1.0, 0.9])
def test_quota_caps_the_covered_flow(approved_share: float) -> None:
    # Licence from day 10 with a 0-day review, approved for `approved_share` of the
    # requested volume, and a quota of 0.5 x the covered flow just before the start
    # (10 t/day) = 5 t/day. The consumer orders >= 10 t/day, so the quota binds: inflow
    # 5 t/day from day 10, the stock falls at 5 t/day and runs out on day 10 + 200/5 = 50;
    # output then settles at 5/day (half of demand, no alternative supplier).
    # Loss over 10..120 = 5 x (120 - 50) = 350; TTS = 50 - 10 = 40.
    world = supplier_consumer_world()
    lic = control(regime="license", review_days=0, approved_share=approved_share, quota_share=0.5)
    actual, _, m = run_pair(world, [lic], horizon=120)
    assert np.allclose(actual.supply[10:, ORE_SLOT], 5.0)
    assert actual.stock[39, ORE_SLOT] == pytest.approx(S - 5.0 * 30, rel=1e-9)  # day 40: 50 t
    assert np.allclose(actual.output[:50, CON], D)
    assert np.allclose(actual.output[50:, CON], 5.0)
    assert metric(m, "output_loss") == pytest.approx(350.0, rel=1e-9)
    assert metric(m, "time_to_survive_days") == 40


# ---------------------------------------------------------------- front-running
def test_front_running_builds_stock_and_delays_the_stockout() -> None:
    world = supplier_consumer_world()
    # Without front-running: ban from day 40, stock out on day 60, loss 10 x 60 = 600.
    plain, _, m_plain = run_pair(world, [control(start=40)], horizon=120)
    assert zero_days(plain)[0] == 60
    assert metric(m_plain, "output_loss") == pytest.approx(600.0, rel=1e-9)
    assert metric(m_plain, "time_to_survive_days") == 20
    # Announced on day 10 with front_running_share 1.0: the target doubles to 400 t.
    # Gap g = 400 - stock closes at g/21 per day, re-planned at the announcement (10),
    # the reviews 14, 21, 28, 35 and the start (40):
    # g(10) = 200; g(14) = 200 x 17/21; g(35) = g(14) x (2/3)^3; g(40) = g(35) x 16/21
    # = 200 x 17/21 x 8/27 x 16/21 = 36.550; stock at the start s40 = 400 - 36.550 = 363.450.
    s40 = 2 * S - S * (17 / 21) * (2 / 3) ** 3 * (16 / 21)
    events = [control(start=40, announced=10, front_running_share=1.0)]
    actual, _, m = run_pair(world, events, horizon=120)
    stock = actual.stock[:, ORE_SLOT]
    assert np.allclose(stock[:10], S)  # at target before the announcement
    assert (np.diff(stock[9:40]) > 0).all()  # rising from the announcement to the start
    assert stock[10] == pytest.approx(S + (S / ADJ) * 1, rel=1e-9)  # end of day 10: +200/21
    assert stock[39] == pytest.approx(s40, rel=1e-9)  # end of day 39 = day 40
    # The stock then lasts s40/10 = 36.345 days: out on day 76.345 instead of 60.
    assert actual.output[76, CON] == pytest.approx(s40 - 360.0, rel=1e-9)
    assert zero_days(actual)[0] == 77
    # Loss = 10 x (120 - 40) - s40 = 436.550; TTS = 76 - 40 = 36 (t0 is the start, not the
    # announcement).
    assert actual.t0 == 40
    assert metric(m, "output_loss") == pytest.approx(D * 80 - s40, rel=1e-9)
    assert metric(m, "time_to_survive_days") == 36


# ---------------------------------------------------------------- stockpile releases
Q, RATE = 100.0, 5.0  # stockpile of ore held by the USA, release rate


@pytest.mark.parametrize(("lane", "tts"), [(0.0, 30), (14.0, 44)])
def test_stockpile_release_reduces_the_loss_by_its_quantity(lane: float, tts: int) -> None:
    # Ban from day 10 to day 60, stockpile Q = 100 t released at 5 t/day from day 10 on
    # while the shortfall is >= 10 %. Inflow from the supplier stops when the ban reaches
    # the consumer (day 10 + lane); all of Q is released before the stock runs out, so the
    # stock-out moves by Q/d = 10 days and the loss falls by Q:
    # lane 0:  out on day 10 + (200 + 100)/10 = 40; loss = 10 x (60 - 40) = 200 = 300 - Q.
    # lane 14: the 140 t in transit arrive until day 24, out on day 54; shipments restart
    #          on day 60 and arrive from day 74: loss = 10 x (74 - 54) = 200.
    # TTS: 40 - 10 = 30, resp. 54 - 10 = 44.
    world = supplier_consumer_world(stockpile_t=Q, lane_days=lane)
    release = StockpileRelease(
        holder="USA", commodity="ore", rate_per_day=RATE, threshold_share=0.1, start=10
    )
    ban = control(end=60)
    without, _, m_without = run_pair(world, [ban], horizon=120)
    assert metric(m_without, "output_loss") == pytest.approx(300.0, rel=1e-9)
    actual, baseline, m = run_pair(world, [ban, release], horizon=120)
    assert metric(m, "output_loss") == pytest.approx(300.0 - Q, rel=1e-9)
    assert metric(m, "time_to_survive_days") == tts
    assert zero_days(actual)[0] == tts + 10
    # All of Q is released, at RATE t/day (20 full days), and none in the baseline.
    assert actual.released.sum() == pytest.approx(Q, rel=1e-9)
    assert (actual.released[:, ORE_SLOT] > 0).sum() == Q / RATE
    assert baseline.released.sum() == 0.0
    # The material balance closes with the releases counted as a source:
    # initial stock + initial transit + produced + released = delivered + consumed
    # + final stock + final transit + rounding.
    for record in (actual, baseline):
        bal = material_balance(record).set_index("commodity")
        assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-6)
    bal = material_balance(actual).set_index("commodity")
    b = actual.balance
    ore = (
        b["initial_stock"].sum()
        + b["initial_transit"].sum()
        + b["produced"][SUP]
        + b["released"].sum()
    )
    assert bal.loc["ore", "sources"] == pytest.approx(ore, rel=1e-12)
    assert b["released"].sum() == pytest.approx(Q, rel=1e-9)


@pytest.mark.parametrize(("threshold", "released", "loss"), [(0.4, Q, 0.0), (0.6, 0.0, 100.0)])
def test_stockpile_release_threshold(threshold: float, released: float, loss: float) -> None:
    # Half-capacity outage of a 10 t/day supplier from day 10 for 60 days: inflow 5 t/day
    # for a planned use of 10, a shortfall of 1 - 5/10 = 0.5.
    # Threshold 0.6 > 0.5: nothing is released; as in the outage test, loss = 5 x 20 = 100.
    # Threshold 0.4 <= 0.5: Q = 100 t are released while the stock would fall, moving the
    # stock-out by Q/5 = 20 days to day 70, the end of the outage: loss 0.
    world = supplier_consumer_world(supplier_capacity_per_day=10, stockpile_t=Q)
    outage = FacilityOutage(
        select=Selector(facilities=("sup",)), capacity_factor=0.5, start=10, duration_days=60
    )
    release = StockpileRelease(
        holder="USA", commodity="ore", rate_per_day=RATE, threshold_share=threshold, start=10
    )
    actual, _, m = run_pair(world, [outage, release], horizon=120)
    assert actual.released.sum() == pytest.approx(released, rel=1e-9, abs=1e-9)
    assert metric(m, "output_loss") == pytest.approx(loss, rel=1e-9, abs=1e-9)


def test_stockpile_is_not_released_in_the_steady_state() -> None:
    # No disruption: inflow equals planned use at every review, the shortfall is 0 and a
    # release with the default start (day 0) and threshold (10 %) never triggers; the
    # consumer's stock stays at its 200 t target.
    world = supplier_consumer_world(stockpile_t=Q)
    record = simulate(
        world,
        [StockpileRelease(holder="USA", commodity="ore", rate_per_day=RATE)],
        start=START,
        horizon_days=60,
        rng=np.random.default_rng(1),
    )
    assert record.released.sum() == 0.0
    assert np.allclose(record.stock[:, ORE_SLOT], S)


@pytest.mark.parametrize(("lane", "first_day"), [(0.0, 10), (14.0, 24)])
def test_stockpile_release_starts_with_the_shortfall(lane: float, first_day: int) -> None:
    # The shortfall is checked at every review and event. A ban on day 10 cuts the inflow
    # to 0 (shortfall 100 %) on day 10 with a zero-lag lane, and on day 24 (when the last
    # shipment sent before the ban arrives, an arrival event) with a 14-day lane: the
    # release runs at 5 t/day from that day for Q/5 = 20 days.
    world = supplier_consumer_world(stockpile_t=Q, lane_days=lane)
    release = StockpileRelease(holder="USA", commodity="ore", rate_per_day=RATE, start=1)
    actual, _, _ = run_pair(world, [control(end=60), release], horizon=120)
    days = np.flatnonzero(actual.released[:, ORE_SLOT] > 0)
    assert days[0] == first_day
    assert np.allclose(actual.released[first_day : first_day + 20, ORE_SLOT], RATE)


# ---------------------------------------------------------------- determinism
def _noisy_example() -> tuple[World, list[ExportControl]]:
    tables = example_tables()
    tables["demand"] = tables["demand"].assign(noise_cv=0.1)
    world = World.from_tables(**tables)
    events = [
        ExportControl(
            id="ndpr",
            issuer="CHN",
            commodities=("ndpr_oxide",),
            destinations=Destinations(blocs=("allied",)),
            start=30,
            regime="license",
            review_days=Distribution("uniform", low=20, high=60),
            approval_probability=0.5,
        )
    ]
    return world, events


def _example_run(seed: int):  # type: ignore[no-untyped-def]
    world, events = _noisy_example()
    actual, baseline = simulate_pair(world, events, start=START, horizon_days=365, seed=seed)
    return actual, baseline, compute_metrics(actual, baseline)


def test_same_seed_gives_identical_runs() -> None:
    a1, b1, m1 = _example_run(7)
    a2, b2, m2 = _example_run(7)
    for first, second in ((a1, a2), (b1, b2)):
        for name in ("output", "stock", "supply", "released", "delivered", "consumption"):
            assert np.array_equal(getattr(first, name), getattr(second, name)), name
        assert first.log == second.log
    pd.testing.assert_frame_equal(m1, m2)


def test_different_seed_gives_different_runs() -> None:
    a1, b1, _ = _example_run(7)
    a2, b2, _ = _example_run(8)
    assert not np.array_equal(a1.output, a2.output)
    assert not np.array_equal(b1.output, b2.output)  # demand noise differs too


def test_baseline_sees_the_same_demand_noise() -> None:
    # The paired baseline draws the same demand noise: before the onset (day 30) the two
    # runs are identical, and the noise makes the output vary from week to week.
    actual, baseline, _ = _example_run(7)
    assert actual.t0 == 30
    assert np.array_equal(actual.output[:30], baseline.output[:30])
    us_dc = actual.facilities["facility"].tolist().index("us_dc")
    assert np.ptp(actual.output[:30, us_dc]) > 0


# ---------------------------------------------------------------- same-instant settles
def _chain_world() -> World:
    # CHN mine -> 3 CHN refiners -> USA fab -> USA plant (2 t per unit at each step);
    # CHN -> USA lanes take 0 days, the USA fab -> plant lane 3 days; only the plant
    # holds stock (1 day). Demand 5 units/day at the plant.
    src = "test fixture"
    return World.from_tables(
        countries=pd.DataFrame(
            {"country": ["CHN", "USA"], "bloc": ["china", "allied"], "source": src}
        ),
        commodities=pd.DataFrame(
            {
                "commodity": ["ore", "oxide", "part", "product"],
                "unit": "t",
                "qualification_days": 1.0,
                "substitution_ramp_days": 0.0,
                "source": src,
            }
        ),
        facilities=pd.DataFrame(
            [
                ("mine0", "mine", "CHN", "ore", 14600.0),
                ("refiner0", "refiner", "CHN", "oxide", 7300 / 3),
                ("refiner1", "refiner", "CHN", "oxide", 7300 / 3),
                ("refiner2", "refiner", "CHN", "oxide", 7300 / 3),
                ("fab0", "fab", "USA", "part", 3650.0),
                ("plant0", "plant", "USA", "product", 1825.0),
            ],
            columns=["facility", "type", "country", "commodity", "capacity_per_year"],
        ).assign(source=src),
        recipes=pd.DataFrame(
            {
                "facility_type": ["refiner", "fab", "plant"],
                "input": ["ore", "oxide", "part"],
                "quantity_per_unit": 2.0,
                "source": src,
            }
        ),
        lanes=pd.DataFrame(
            {
                "origin": ["CHN", "*"],
                "destination": ["USA", "*"],
                "transport_days": [0.0, 3.0],
                "source": src,
            }
        ),
        inventory=pd.DataFrame(
            {
                "facility_type": ["refiner", "fab", "plant"],
                "input": ["ore", "oxide", "part"],
                "target_cover_days": [0.0, 0.0, 1.0],
                "source": src,
            }
        ),
        demand=pd.DataFrame(
            {"commodity": "product", "facility": ["plant0"], "quantity_per_year": 1825.0}
        ).assign(source=src),
    )


def test_a_zero_quota_licence_decided_at_once_is_a_ban() -> None:
    # A licence reviewed in 0 days with a quota of 0 lets nothing through, like a ban:
    # the control, its licence decision and the re-plan all happen on day 0, so the fab
    # -> plant lane gets two rate changes sent at one instant (the later one counts).
    # The plant holds 3 days in transit and 1 day in stock: output stops on day 4 and
    # comes back on day 10 (control ends day 7, parts travel 3 days): loss 6 x 5 = 30.
    world = _chain_world()
    ban = ExportControl(
        id="c",
        issuer="CHN",
        commodities=("ore", "oxide"),
        destinations=Destinations(all=True),
        start=0,
        end=7,
    )
    zero_quota = with_changes(
        ban,
        {"regime": "license", "review_days": 0.0, "approval_probability": 1.0, "quota_share": 0.0},
    )
    for policy in (ban, zero_quota):
        actual, baseline = simulate_pair(world, [policy], start=START, horizon_days=40, seed=0)
        plant = actual.output[:, 5]
        assert np.allclose(plant[:4], 5.0) and np.allclose(plant[4:10], 0.0)
        assert np.allclose(plant[10:], 5.0)
        assert (baseline.output[:, 5] - plant).sum() == pytest.approx(30.0, rel=1e-9)
        bal = material_balance(actual)
        assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=0)


# ---------------------------------------------------------------- policies
def test_membership_change_brings_a_country_under_a_bloc_control() -> None:
    # A ban on ore to the *allied* bloc from day 10; the consumer's country (USA) starts
    # in a bloc of its own ("nonaligned") and joins "allied" on day 40. The stock (20
    # days) lasts until day 60: output stops from day 60 to the end of the ban (100):
    # loss = 10 x 40 = 400. Without the membership change the ban covers nobody.
    tables = supplier_consumer_tables()
    tables["countries"] = tables["countries"].assign(bloc=["china", "nonaligned"])
    world = World.from_tables(**tables)
    ban = control(destinations=Destinations(blocs=("allied",)), start=10, end=100)
    join = MembershipChange(country="USA", bloc="allied", date=40)
    actual, baseline, m = run_pair(world, [ban, join], horizon=150)
    assert metric(m, "output_loss") == pytest.approx(400.0, rel=1e-9)
    assert zero_days(actual)[0] == 60
    assert "membership_change" in [w for _, w, _ in actual.log]


def test_demand_change_scales_final_demand_from_its_date() -> None:
    # Demand 10/day, +50 % from day 30 for the widget: output 15/day from day 30 (the
    # supplier has 100 t/day and the consumer 20/day of capacity); it is a policy, so
    # the paired baseline sees it too and nothing is lost.
    world = supplier_consumer_world()
    change = DemandChange(factor=1.5, date=30, commodities=("widget",))
    actual, baseline, m = run_pair(world, [change], horizon=60)
    assert np.allclose(actual.output[:30, CON], 10.0)
    assert np.allclose(actual.output[30:, CON], 15.0)
    assert np.array_equal(actual.output, baseline.output)
    assert metric(m, "output_loss") == 0


def test_demand_change_selecting_nothing_is_an_error() -> None:
    world = supplier_consumer_world()
    change = DemandChange(factor=1.5, date=30, countries=("CHN",))
    with pytest.raises(InputError, match=r"demand_change.*selects no demand row"):
        simulate(world, [change], start=START, horizon_days=10, rng=np.random.default_rng(0))


def test_capacity_investment_adds_a_facility_that_cuts_the_loss() -> None:
    # Example world, Chinese ban on NdPr oxide to the allied bloc from day 100 for a year.
    # The US refiner (1,500 t/yr) is far too small for jp_magnet's ~4,000 t/yr of
    # Chinese oxide; an expansion of 6,000 t/yr ready on day 150 (ramp 30 days) lets
    # substitution cover the need, so the magnet fab loses much less. If the project is
    # not completed, the expansion is listed with zero capacity and changes nothing.
    tables = example_tables()
    world = World.from_tables(**tables)
    ban = ExportControl(
        id="ban",
        issuer="CHN",
        commodities=("ndpr_oxide",),
        destinations=Destinations(blocs=("allied",)),
        start=100,
        end=465,
    )
    losses = {}
    for completed in (True, False):
        expansion = CapacityInvestment(
            facility="us_refiner_2",
            expands="us_refiner",
            capacity_per_year=6000,
            available_from=150,
            ramp_up_days=30,
            completed=completed,
        )
        actual, baseline = simulate_pair(
            world, [ban, expansion], start=START, horizon_days=700, seed=1
        )
        fac = list(actual.facilities["facility"])
        assert fac[-1] == "us_refiner_2"
        new = actual.output[:, fac.index("us_refiner_2")]
        assert new[:150].max() == 0
        m = compute_metrics(actual, baseline, by=("facility",))
        losses[completed] = m[(m["scope"] == "jp_magnet") & (m["metric"] == "output_loss")][
            "value"
        ].iloc[0]
        if completed:
            assert new[250] > 0
        else:
            assert new.max() == 0
    no_investment = simulate_pair(world, [ban], start=START, horizon_days=700, seed=1)
    m = compute_metrics(*no_investment, by=("facility",))
    base_loss = m[(m["scope"] == "jp_magnet") & (m["metric"] == "output_loss")]["value"].iloc[0]
    assert losses[False] == pytest.approx(base_loss, rel=1e-9)
    assert losses[True] < 0.7 * base_loss


def test_capacity_investment_errors() -> None:
    world = supplier_consumer_world()
    for ev, field in (
        (
            CapacityInvestment(
                facility="sup", expands="sup", capacity_per_year=1, available_from=5
            ),
            "facility",
        ),
        (
            CapacityInvestment(facility="x", expands="nope", capacity_per_year=1, available_from=5),
            "expands",
        ),
        (CapacityInvestment(facility="x", capacity_per_year=1, available_from=5), "expands"),
    ):
        with pytest.raises(InputError) as err:
            simulate(world, [ev], start=START, horizon_days=10, rng=np.random.default_rng(0))
        assert err.value.field == field


def test_bloc_first_sourcing_serves_the_own_bloc_first() -> None:
    # One US supplier 'alt' of 10 t/day (the Chinese supplier has no capacity) and two
    # buyers of 10 t/day each, without stock: the US consumer and a Chinese one.
    # Pro rata each gets 5 t/day; once the allied bloc allocates bloc-first (day 20),
    # the US consumer gets its 10 t/day and the Chinese one nothing.
    tables = supplier_consumer_tables(
        cover_days=0, supplier_capacity_per_day=0, alternative_capacity_per_day=10
    )
    tables["facilities"] = pd.concat(
        [
            tables["facilities"],
            pd.DataFrame(
                [("con_cn", "factory", "CHN", "widget", 20 * 365, "test fixture")],
                columns=["facility", "type", "country", "commodity", "capacity_per_year", "source"],
            ),
        ]
    )
    tables["demand"] = pd.concat(
        [
            tables["demand"],
            pd.DataFrame(
                {"commodity": ["widget"], "facility": ["con_cn"], "quantity_per_year": [3650.0]}
            ).assign(source="test fixture"),
        ]
    )
    tables["sourcing"] = pd.DataFrame(
        {"buyer": ["*"], "commodity": ["ore"], "supplier": ["alt"], "weight": [1.0]}
    ).assign(source="test fixture")
    tables["lanes"] = pd.DataFrame(
        {"origin": ["*"], "destination": ["*"], "transport_days": [0.0]}
    ).assign(source="test fixture")
    world = World.from_tables(**tables)
    policy = SourcingPolicy(bloc="allied", rule="bloc_first", date=20)
    record = simulate(world, [policy], start=START, horizon_days=40, rng=np.random.default_rng(0))
    fac = list(record.facilities["facility"])
    us, cn = record.output[:, fac.index("con")], record.output[:, fac.index("con_cn")]
    assert np.allclose(us[:20], 5.0) and np.allclose(cn[:20], 5.0)
    assert np.allclose(us[20:], 10.0) and np.allclose(cn[20:], 0.0)
    # An offtake contract of the Chinese buyer with 'alt' from day 20 does the opposite.
    offtake = SourcingPolicy(
        bloc="china",
        rule="offtake",
        date=20,
        suppliers=Selector(facilities=("alt",)),
        buyers=Selector(facilities=("con_cn",)),
    )
    record = simulate(world, [offtake], start=START, horizon_days=40, rng=np.random.default_rng(0))
    us, cn = record.output[:, fac.index("con")], record.output[:, fac.index("con_cn")]
    assert np.allclose(us[20:], 0.0) and np.allclose(cn[20:], 10.0)
    with pytest.raises(InputError, match="buyers: selects no facility"):
        bad = SourcingPolicy(
            bloc="china", rule="offtake", date=20, suppliers=Selector(facilities=("alt",))
        )
        simulate(world, [bad], start=START, horizon_days=5, rng=np.random.default_rng(0))
    # China joins the allied bloc on day 30: both buyers are then of the supplier's bloc,
    # both come first, and they share pro rata again (the priority follows the blocs).
    joins = MembershipChange(country="CHN", bloc="allied", date=30)
    record = simulate(
        world, [policy, joins], start=START, horizon_days=40, rng=np.random.default_rng(0)
    )
    us, cn = record.output[:, fac.index("con")], record.output[:, fac.index("con_cn")]
    assert np.allclose(us[20:30], 10.0) and np.allclose(cn[20:30], 0.0)
    assert np.allclose(us[30:], 5.0) and np.allclose(cn[30:], 5.0)
