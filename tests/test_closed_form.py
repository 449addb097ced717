"""Closed-form cases: one supplier, one consumer; answers worked out by hand in comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine import Settings
from sim.events import Destinations, ExportControl
from sim.metrics import compute_metrics, output_metrics, output_metrics_of_scopes
from sim.pair import simulate_pair
from sim.world import World
from tests.worlds import ore_ban, supplier_consumer, supplier_consumer_tables

START = "2025-01-01"


ban = ore_ban


def consumer_metrics(world, events, horizon=200):  # type: ignore[no-untyped-def]
    actual, baseline = simulate_pair(world, events, start=START, horizon_days=horizon, seed=1)
    m = compute_metrics(actual, baseline, by=("facility",))
    m = m[m["scope"] == "con"].set_index(["metric", "commodity"])
    return actual, baseline, m


def value(m, metric, commodity="widget"):  # type: ignore[no-untyped-def]
    return m.loc[(metric, commodity), "value"]


@pytest.mark.parametrize(("ban_days", "expected_loss"), [(50, 300.0), (35, 150.0), (20, 0.0)])
def test_full_ban_without_lane(ban_days: float, expected_loss: float) -> None:
    # d = 10 units/day, 1 t ore per unit, S = 20 days x 10 t = 200 t, ban from day 10.
    # Stock lasts S/d = 20 days: output holds until day 30, so TTS = 20.
    # Loss = d (D - S/d): D = 50 -> 10 x 30 = 300; D = 35 -> 10 x 15 = 150;
    # D = 20 <= S/d -> the ban ends as the stock runs out: no loss.
    world = supplier_consumer(demand_per_day=10, cover_days=20)
    actual, baseline, m = consumer_metrics(world, [ban(10, ban_days)])
    assert value(m, "output_loss") == pytest.approx(expected_loss, rel=1e-9, abs=1e-9)
    if expected_loss > 0:
        assert value(m, "time_to_survive_days") == 20
        assert not m.loc[("time_to_survive_days", "widget"), "censored"]
        # After the ban the supplier refills the consumer: output is back at d at once.
        assert value(m, "time_to_recover_days") == 20 + expected_loss / 10
    else:
        assert m.loc[("time_to_survive_days", "widget"), "censored"]
    # Output never exceeds demand and never goes below zero.
    assert actual.output[:, 1].max() == pytest.approx(10.0)
    assert actual.output.min() >= 0


def test_full_ban_with_lane_delays_survival_not_loss() -> None:
    # Same case with a lane of L = 14 days: the 14 x 10 = 140 t already under way
    # still arrive over days 10..24, so the stock starts falling at 24 and runs out
    # at 44: TTS = S/d + L = 34. Shipments restart at 60 and arrive from 74:
    # loss = d x (74 - 44) = 300 = d (D - S/d), the same as without the lane.
    world = supplier_consumer(demand_per_day=10, cover_days=20, lane_days=14)
    _, _, m = consumer_metrics(world, [ban(10, 50)])
    assert value(m, "time_to_survive_days") == 34
    assert value(m, "output_loss") == pytest.approx(300.0, rel=1e-9)


def test_licence_with_fixed_review_delays_once() -> None:
    # Licence regime, approval probability 1, review R = 50 days, from day 10, open-ended.
    # Nothing ships until the licence is granted on day 60; the stock (S/d = 20 days)
    # runs out on day 30: loss = d (R - S/d) = 10 x 30 = 300, once; then full output.
    world = supplier_consumer(demand_per_day=10, cover_days=20)
    control = ExportControl(
        id="lic",
        issuer="CHN",
        commodities=("ore",),
        destinations=Destinations(countries=("USA",)),
        start=10,
        regime="license",
        review_days=50,
        approval_probability=1.0,
    )
    actual, _, m = consumer_metrics(world, [control], horizon=365)
    assert value(m, "output_loss") == pytest.approx(300.0, rel=1e-9)
    assert np.allclose(actual.output[60:, 1], 10.0)
    assert "licence_approved" in [what for _, what, _ in actual.log]


def test_refused_licence_is_a_ban_until_reapplication() -> None:
    # Approval probability 0: every application is refused; the control acts as a ban
    # for its whole duration (day 10 to 110): loss = d (100 - 20) = 800.
    world = supplier_consumer(demand_per_day=10, cover_days=20)
    control = ban(10, 100, regime="license", review_days=20, approval_probability=0.0)
    _, _, m = consumer_metrics(world, [control])
    assert value(m, "output_loss") == pytest.approx(800.0, rel=1e-9)


@pytest.mark.parametrize(("q_days", "ramp_days"), [(30, 30), (45, 10)])
def test_substitution_time_is_qualification_plus_ramp(q_days: float, ramp_days: float) -> None:
    # The consumer holds no stock and buys only from CHN; an alternative supplier in
    # the USA has 100 t/day spare (demand is 10). A ban from day 10 cuts it off.
    # Qualification takes Q days; then the alternative's share rises on a daily
    # staircase rho = j / ramp on day Q + j. Supply reaches theta = 0.95 of use on the
    # first j with j / ramp >= 0.95, i.e. j = ceil(0.95 ramp):
    # ramp 30 -> j = 29, substitution time Q + 29; ramp 10 -> j = 10, Q + 10.
    world = supplier_consumer(
        demand_per_day=10,
        cover_days=0,
        alternative_capacity_per_day=100,
        qualification_days=q_days,
        ramp_days=ramp_days,
    )
    _, _, m = consumer_metrics(world, [ban(10, 400)], horizon=300)
    j = int(np.ceil(0.95 * ramp_days - 1e-9))
    assert value(m, "substitution_time_days", "ore") == q_days + j
    assert value(m, "substitution_qualification_days", "ore") == q_days
    assert value(m, "substitution_ramp_days", "ore") == j
    # Without stock the consumer stops at once: TTS = 0.
    assert value(m, "time_to_survive_days") == 0


def test_substitution_limited_by_spare_capacity_is_censored() -> None:
    # The alternative has only 5 t/day of capacity for a need of 10 t/day: supply from
    # unrestricted sources never reaches 95 % of use, so substitution is censored,
    # and the consumer settles at half output (peak shortfall 100 % before that).
    world = supplier_consumer(
        demand_per_day=10, cover_days=0, alternative_capacity_per_day=5, qualification_days=30
    )
    actual, _, m = consumer_metrics(world, [ban(10, 400)], horizon=300)
    assert np.isnan(value(m, "substitution_time_days", "ore"))
    assert m.loc[("substitution_time_days", "ore"), "censored"]
    assert actual.output[-1, 1] == pytest.approx(5.0)
    assert value(m, "peak_shortfall_share") == pytest.approx(1.0)


@pytest.mark.parametrize(("penalty", "substitute_output"), [(0.0, 10.0), (0.6, 8.0)])
def test_substitute_input_after_its_qualification(penalty: float, substitute_output: float) -> None:
    # The consumer (capacity 20/day, demand d = 10/day, no stock) can replace ore by
    # "ore_b" at 1.5 t per unit once qualified (40 days), losing `penalty` of capacity.
    # A ban on Chinese ore from day 10 to 110 stops it at once; on day 50 it switches:
    # output min(10, 20 (1 - penalty)) = 10 or 8 until the ban ends on day 110, when it
    # switches back to ore at full output.
    # Loss = 40 days x 10 + 60 days x (10 - output on the substitute).
    tables = supplier_consumer_tables(demand_per_day=10, cover_days=0)
    tables["commodities"] = pd.concat(
        [tables["commodities"], pd.DataFrame({"commodity": ["ore_b"], "unit": ["t"]})]
    ).assign(source="test fixture")
    tables["facilities"] = pd.concat(
        [
            tables["facilities"],
            pd.DataFrame(
                {
                    "facility": ["b_mine"],
                    "type": ["b_mine"],
                    "country": ["USA"],
                    "commodity": ["ore_b"],
                    "capacity_per_year": [100 * 365],
                    "source": ["test fixture"],
                }
            ),
        ]
    )
    tables["recipes"] = tables["recipes"].assign(
        substitute_input="ore_b",
        substitute_quantity_per_unit=1.5,
        substitute_output_penalty_share=penalty,
        substitute_qualification_days=40,
    )
    world = World.from_tables(**tables)
    actual, _, m = consumer_metrics(world, [ban(10, 100)], horizon=200)
    expected = 40 * 10 + 60 * (10 - substitute_output)
    assert value(m, "output_loss") == pytest.approx(expected, rel=1e-9)
    assert actual.output[49, 1] == 0
    assert actual.output[50, 1] == pytest.approx(substitute_output)
    assert actual.output[111, 1] == pytest.approx(10.0)
    b_mine = list(actual.facilities["facility"]).index("b_mine")
    # On the substitute the consumer uses 1.5 t of ore_b per unit of output.
    assert actual.output[60, b_mine] == pytest.approx(1.5 * substitute_output)
    assert [what for _, what, _ in actual.log].count("substitute_on") == 1
    assert [what for _, what, _ in actual.log].count("substitute_off") == 1


def test_substitution_time_has_qualification_transit_and_ramp_parts() -> None:
    # As above, but the alternative is in AUS, L = 20 days away (the CHN lane is 0), and
    # orders follow use only (stock_adjust_days huge: no pipeline top-up), so the
    # arithmetic stays closed: the ban on day 10 starts a Q = 30-day qualification,
    # done on day 40; from day 40 + j the alternative gets rho = j / 10 of the 10 t/day
    # (j = 1..10) and it arrives L = 20 days later: supply on day 60 + j is j t/day.
    # It first reaches 0.95 x 10 = 9.5 at j = 10, on day 70, and stays: substitution
    # time 70 - 10 = 60 = Q 30 + transit 20 + ramp 10.
    world = supplier_consumer(
        demand_per_day=10,
        cover_days=0,
        alternative_capacity_per_day=100,
        alternative_country="AUS",
        alternative_lane_days=20,
        qualification_days=30,
        ramp_days=10,
    )
    actual, baseline = simulate_pair(
        world,
        [ban(10, 400)],
        start=START,
        horizon_days=300,
        seed=1,
        settings=Settings(stock_adjust_days=1e12),
    )
    m = compute_metrics(actual, baseline, by=("facility",))
    m = m[m["scope"] == "con"].set_index(["metric", "commodity"])
    assert np.allclose(actual.supply_unrestricted[61:71, 0], np.arange(1, 11), atol=1e-6)
    assert value(m, "substitution_time_days", "ore") == 60
    assert value(m, "substitution_qualification_days", "ore") == 30
    assert value(m, "substitution_transit_days", "ore") == 20
    assert value(m, "substitution_ramp_days", "ore") == 10


def test_qualification_finishing_after_the_horizon_is_censored() -> None:
    # Ban from day 10, Q = 30: qualification would finish on day 40, after a 30-day run.
    world = supplier_consumer(
        demand_per_day=10, cover_days=0, alternative_capacity_per_day=100, qualification_days=30
    )
    actual, _, m = consumer_metrics(world, [ban(10, 400)], horizon=30)
    assert actual.slots["qualification_done_day"].iloc[0] == 40  # the fact, past T
    assert np.isnan(value(m, "substitution_qualification_days", "ore"))
    assert m.loc[("substitution_qualification_days", "ore"), "censored"]
    assert m.loc[("substitution_transit_days", "ore"), "censored"]


def test_no_qualification_without_an_alternative_supplier() -> None:
    # Only the Chinese supplier exists: a ban leaves nobody to qualify, so no
    # qualification starts and its metric is censored (never "completed after Q").
    world = supplier_consumer(demand_per_day=10, cover_days=20)
    actual, _, m = consumer_metrics(world, [ban(10, 400)], horizon=300)
    assert "qualification_started" not in [what for _, what, _ in actual.log]
    assert np.isnan(actual.slots["qualification_start_day"].iloc[0])
    assert m.loc[("substitution_qualification_days", "ore"), "censored"]
    assert m.loc[("substitution_time_days", "ore"), "censored"]


def test_orders_settle_on_a_farther_alternative_with_little_spare() -> None:
    # The blocked lane is 5 days, the alternative's 30, and the alternative can make
    # 10.5 t/day for a use of 10 (spare 0.5 once it serves the consumer). The target
    # pipeline follows the lane the orders actually take (30 days), so after the
    # transient the alternative ships exactly the use: 10 t/day in, 10 units/day out.
    # (The lead used to be estimated from the spare capacity left by the previous
    # plan, which flipped between the two lanes from review to review: output
    # oscillated between 10 and ~7.9 for ever.)
    world = supplier_consumer(
        demand_per_day=10,
        cover_days=20,
        lane_days=5,
        alternative_capacity_per_day=10.5,
        alternative_country="AUS",
        alternative_lane_days=30,
        qualification_days=30,
        ramp_days=10,
    )
    actual, _ = simulate_pair(world, [ban(10, 2000)], start=START, horizon_days=1000, seed=1)
    # The stock built during the ramp carries output at 10 from day 75 on, while the
    # surplus in the pipeline drains away geometrically (measured: 0.5 t/day off at
    # day 450, 2e-3 at 550, 1e-9 at 800); the old flip never decayed.
    assert np.allclose(actual.output[75:, 1], 10.0, rtol=1e-9)
    gap = np.abs(actual.supply_unrestricted[:, 0] - 10.0)
    envelope = [gap[t : t + 50].max() for t in range(500, 1000, 50)]
    assert all(b < a for a, b in zip(envelope, envelope[1:], strict=False) if a > 1e-11)
    assert gap[900:].max() < 1e-9


def test_a_dip_shorter_than_k_days_still_has_a_recovery_time() -> None:
    # t0 = 0, B = 10, A dips to 5 on days 2, 3, 4 (3 days < k = 7): TTS is censored,
    # but output was short, so TTR is the first day of the final run at or above
    # theta: day 5 (>= k days remain), and the scope was short from day 2: gap 3.
    b = np.full(30, 10.0)
    a = b.copy()
    a[2:5] = 5.0
    out = output_metrics(a, b, t0=0, theta=0.95, k=7)
    assert out["time_to_survive_days"] == (pytest.approx(np.nan, nan_ok=True), True)
    assert out["time_to_recover_days"] == (5.0, False)
    assert out["exposure_gap_days"] == (3.0, False)
    assert out["output_loss"] == (15.0, False)
    # No dip below theta at all: nothing to recover from, TTR absent.
    calm = output_metrics(b * 0.99, b, t0=0, theta=0.95, k=7)
    assert "time_to_recover_days" not in calm and "exposure_gap_days" not in calm


def test_output_metrics_of_many_scopes_at_once() -> None:
    # Four scopes over 30 days from t0 = 2 (B = 10 unless said), k = 7, theta = 0.95:
    # 0: A = 4 on days 5-14 (10 days): TTS 3 (day 5 - t0), TTR 13, gap 10, loss 60;
    # 1: A = 9.9 always: no dip, no TTR; loss 0.1 * 28 days = 2.8, peak 0.01;
    # 2: A = 0 from day 20: TTS 18, recovery censored (never back), loss 100;
    # 3: B = 0 and A = 1: Q = 1 where B = 0, so nothing is lost and 28 t are gained.
    b = np.full((30, 4), 10.0)
    b[:, 3] = 0.0
    a = b.copy()
    a[5:15, 0] = 4.0
    a[:, 1] = 9.9
    a[20:, 2] = 0.0
    a[:, 3] = 1.0
    got = output_metrics_of_scopes(a, b, t0=2, theta=0.95, k=7)
    values = {name: v.tolist() for name, (v, _) in got.items()}
    censored = {name: c.tolist() for name, (_, c) in got.items()}
    assert values["output_loss"] == pytest.approx([60.0, 2.8, 100.0, 0.0])
    assert values["output_gain"] == pytest.approx([0.0, 0.0, 0.0, 28.0])
    assert values["output_loss_share"] == pytest.approx([60 / 280, 0.01, 100 / 280, 0.0])
    assert values["peak_shortfall_share"] == pytest.approx([0.6, 0.01, 1.0, 0.0])
    assert values["time_to_survive_days"][0] == 3.0 and values["time_to_survive_days"][2] == 18.0
    assert censored["time_to_survive_days"] == [0.0, 1.0, 0.0, 1.0]
    assert values["time_to_recover_days"][0] == 13.0 and values["exposure_gap_days"][0] == 10.0
    assert censored["time_to_recover_days"][0] == 0.0 and censored["time_to_recover_days"][2] == 1.0
    assert np.isnan(censored["time_to_recover_days"][1]) and np.isnan(
        censored["exposure_gap_days"][3]
    )
    # Each column gives what the scope alone gives, bit for bit.
    for j in range(4):
        alone = output_metrics(a[:, j], b[:, j], t0=2, theta=0.95, k=7)
        for name, (value, flag) in alone.items():
            assert (value, flag) == (values[name][j], bool(censored[name][j])) or (
                np.isnan(value) and np.isnan(values[name][j])
            )


def test_output_metrics_with_no_day_from_the_onset_on() -> None:
    # t0 at the horizon: nothing measured, so nothing lost, TTS censored, no TTR.
    b = np.full((10, 2), 10.0)
    got = output_metrics_of_scopes(b * 0.5, b, t0=10, theta=0.95, k=7)
    assert got["output_loss"][0].tolist() == [0.0, 0.0]
    assert got["peak_shortfall_share"][0].tolist() == [0.0, 0.0]
    assert got["time_to_survive_days"][1].tolist() == [1.0, 1.0]
    assert np.isnan(got["time_to_recover_days"][1]).all()
    alone = output_metrics(b[:, 0] * 0.5, b[:, 0], t0=10, theta=0.95, k=7)
    assert "time_to_recover_days" not in alone and alone["output_loss"] == (0.0, False)
