"""Licences as administered (issue 11), worked out by hand.

The world is the fixture of :mod:`tests.event_worlds` (see :mod:`tests.test_events`):
demand d = 10 widgets/day, 1 t ore per widget, the consumer holds S = 200 t (20 days)
of ore, the CHN -> USA lane takes 0 days, so a stock-out stops output at once and any
order >= use restores it at once. Day 0 is Wednesday 2025-01-01. The three-buyer world
adds consumers in JPN and KOR, alike.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.distributions import Distribution
from sim.ensemble import run_scenario
from sim.errors import InputError
from sim.events import DestinationGroup, Destinations, ExportControl, Schedule, SchedulePoint
from sim.metrics import material_balance
from sim.world import World
from tests.event_worlds import (
    ORE_SLOT,
    SRC,
    control,
    log_days,
    metric,
    run_pair,
    supplier_consumer_tables,
    supplier_consumer_world,
    zero_days,
)

D, S = 10.0, 200.0


def steps(*points: tuple[float, float], interpolate: str = "step") -> Schedule:
    """A schedule from (day, value) points."""
    return Schedule(
        points=tuple(SchedulePoint(date=day, value=v) for day, v in points),
        interpolate=interpolate,  # type: ignore[arg-type]
    )


def three_buyer_world() -> World:
    """The fixture with two more consumers, in JPN and KOR, each like ``con``."""
    t = supplier_consumer_tables(qualification_days=10_000.0, ramp_days=0.0)
    extra = [("con_jp", "JPN"), ("con_kr", "KOR")]
    t["countries"] = pd.concat(
        [t["countries"], pd.DataFrame({"country": ["JPN", "KOR"], "bloc": "allied", "source": SRC})]
    )
    t["facilities"] = pd.concat(
        [
            t["facilities"],
            pd.DataFrame(
                {
                    "facility": [f for f, _ in extra],
                    "type": "factory",
                    "country": [c for _, c in extra],
                    "commodity": "widget",
                    "capacity_per_year": D * 365 * 2,
                    "source": SRC,
                }
            ),
        ]
    )
    t["lanes"] = pd.concat(
        [
            t["lanes"],
            pd.DataFrame(
                {"origin": "CHN", "destination": ["JPN", "KOR"], "transport_days": 0.0}
            ).assign(source=SRC),
        ]
    )
    t["demand"] = pd.concat(
        [
            t["demand"],
            pd.DataFrame(
                {
                    "commodity": "widget",
                    "facility": [f for f, _ in extra],
                    "quantity_per_year": D * 365,
                    "noise_cv": 0.0,
                    "source": SRC,
                }
            ),
        ]
    )
    t["sourcing"] = pd.concat(
        [
            t["sourcing"],
            pd.DataFrame(
                {
                    "buyer": [f for f, _ in extra],
                    "commodity": "ore",
                    "supplier": "sup",
                    "weight": 1.0,
                    "source": SRC,
                }
            ),
        ]
    )
    return World.from_tables(**{k: v.reset_index(drop=True) for k, v in t.items()})


# ---------------------------------------------------------------- a stream of applications
def test_stream_of_applications_with_an_approval_schedule() -> None:
    # Licensing from day 10, one application every I = 30 days (days 10, 40, 70, 100),
    # each decided R = 25 days later (35, 65, 95; the fourth after the horizon) with the
    # approval probability in force that day: 0 until day 60, then 1. So the first is
    # refused and the next two approved; each approved one licenses the flow for I days
    # from its decision: [65, 95) and [95, 125), tiling time from day 65 on.
    # The stock (200 t) runs out on day 30: output 0 on days 30..64, loss 10 x 35 = 350.
    lic = control(
        regime="license",
        review_days=25,
        application_interval_days=30,
        approval_probability=steps((0, 0.0), (60, 1.0)),
    )
    actual, _, m = run_pair(supplier_consumer_world(), [lic], horizon=120)
    assert log_days(actual, "licence_applied") == [10.0, 40.0, 70.0, 100.0]
    assert log_days(actual, "licence_refused") == [35.0]
    assert log_days(actual, "licence_approved") == [65.0, 95.0]
    assert log_days(actual, "licence_expired") == [95.0]  # and at once replaced
    assert np.allclose(actual.supply[10:65, ORE_SLOT], 0.0)
    assert (actual.supply[65:, ORE_SLOT] >= D - 1e-9).all()
    assert zero_days(actual) == list(range(30, 65))
    assert metric(m, "output_loss") == pytest.approx(D * 35, rel=1e-9)


def test_licensed_share_rises_as_the_decisions_arrive() -> None:
    # Three buyers (USA, JPN, KOR), licensing from day 10 with reviews of 20, 40 and 60
    # days by destination group, approval 1: decisions on days 30, 50 and 70, so the
    # licensed share of the covered flow is 0 on days 10..29, then 1/3, 2/3 and from day
    # 70 on 1. Each stock (200 t) runs out on day 30: the US buyer is licensed that very
    # day and loses nothing; JPN loses 10 x (50 - 30) = 200 and KOR 10 x 40 = 400.
    lic = control(
        regime="license",
        destinations=Destinations(countries=("USA", "JPN", "KOR")),
        review_days=20,
        groups=(
            DestinationGroup(destinations=Destinations(countries=("JPN",)), review_days=40),
            DestinationGroup(destinations=Destinations(countries=("KOR",)), review_days=60),
        ),
    )
    actual, _, m = run_pair(three_buyer_world(), [lic], horizon=120)
    assert log_days(actual, "licence_approved") == [30.0, 50.0, 70.0]
    assert metric(m, "output_loss") == pytest.approx(0.0, abs=1e-9)
    assert metric(m, "output_loss", "con_jp") == pytest.approx(200.0, rel=1e-9)
    assert metric(m, "output_loss", "con_kr") == pytest.approx(400.0, rel=1e-9)
    # Slots 0, 1, 2 are the ore stocks of con, con_jp, con_kr: the buyers licensed so far
    # receive ore, the others none.
    supplied = actual.supply[:, :3] > 1e-9
    assert [supplied[d].sum() for d in (29, 30, 49, 50, 69, 70)] == [0, 1, 1, 2, 2, 3]
    assert zero_days(actual, 2) == list(range(30, 50))
    assert zero_days(actual, 3) == list(range(30, 70))


def test_working_day_review_spans_a_weekend() -> None:
    # Day 8 is Thursday 2025-01-09. Three working days: Friday 10, Monday 13, Tuesday 14
    # January = day 13 (five calendar days). A filing on Saturday 2025-01-11 (day 10)
    # counts from Monday: five working days end on Monday 2025-01-20 = day 19.
    thursday = control(regime="license", start=8, review_working_days=3, review_days=99)
    actual, _, _ = run_pair(supplier_consumer_world(), [thursday], horizon=60)
    assert log_days(actual, "licence_approved") == [13.0]
    saturday = control(regime="license", start=10, review_working_days=5)
    actual, _, _ = run_pair(supplier_consumer_world(), [saturday], horizon=60)
    assert log_days(actual, "licence_approved") == [19.0]


def test_licence_expires_and_is_renewed() -> None:
    # One application for the whole flow, reviewed in 10 days, valid 30 days from its
    # decision: filed 10, approved 20, expires 50; the buyer files again on day 50,
    # approved 60, expires 90; again 90 -> 100 -> 130 (after the horizon). Nothing ships
    # while an application waits: days 10..19, 50..59 and 90..99. The stock (200 t) falls
    # by 100 t in each gap and refills in between, so output never stops.
    lic = control(regime="license", review_days=10, licence_valid_days=30)
    actual, _, m = run_pair(supplier_consumer_world(), [lic], horizon=120)
    assert log_days(actual, "licence_applied") == [10.0, 50.0, 90.0]
    assert log_days(actual, "licence_approved") == [20.0, 60.0, 100.0]
    assert log_days(actual, "licence_expired") == [50.0, 90.0]
    supply = actual.supply[:, ORE_SLOT]
    for a, b in ((10, 20), (50, 60), (90, 100)):
        assert np.allclose(supply[a:b], 0.0)
        assert (supply[b : b + 5] > D).all()  # refilling
    assert actual.stock[19, ORE_SLOT] == pytest.approx(S - 10 * D, rel=1e-9)  # end of day 19
    assert metric(m, "output_loss") == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- coverage
def test_covered_share_lets_the_rest_through_untouched() -> None:
    # A ban covering 0.4 of each covered flow: on its first day 0.6 x 10 = 6 t/day still
    # ships. The buyer then orders more (the uncovered part can serve it), the stock
    # settles above zero and output never stops; covered_share 0 is no control at all.
    ban = control(covered_share=0.4)
    actual, baseline, m = run_pair(supplier_consumer_world(), [ban], horizon=120)
    assert actual.supply[9, ORE_SLOT] == pytest.approx(D, rel=1e-12)
    assert actual.supply[10, ORE_SLOT] == pytest.approx(0.6 * D, rel=1e-12)
    assert actual.stock[:, ORE_SLOT].min() > 0.0
    assert metric(m, "output_loss") == pytest.approx(0.0, abs=1e-9)
    none, base, _ = run_pair(supplier_consumer_world(), [control(covered_share=0.0)], horizon=120)
    assert np.array_equal(none.supply, base.supply)
    assert np.array_equal(none.output, base.output)


def test_front_running_share_per_commodity_is_the_number_for_one_commodity() -> None:
    world = supplier_consumer_world()
    by_number = control(start=40, announced=10, front_running_share=1.0)
    by_commodity = control(start=40, announced=10, front_running_share={"ore": 1.0})
    a, _, _ = run_pair(world, [by_number], horizon=120)
    b, _, _ = run_pair(world, [by_commodity], horizon=120)
    assert np.array_equal(a.stock, b.stock)
    assert a.stock[39, ORE_SLOT] > S  # it did front-run


# ---------------------------------------------------------------- properties
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_higher_approval_schedule_never_loses_more(seed: int) -> None:
    # A stream of applications (filed on fixed days whatever the outcomes) draws the same
    # numbers under either schedule, so every application approved under the lower one is
    # approved under the higher one.
    def loss(p: Schedule) -> float:
        lic = control(
            regime="license",
            review_days=12,
            application_interval_days=14,
            licence_valid_days=14,
            approval_probability=p,
        )
        _, _, m = run_pair(supplier_consumer_world(), [lic], horizon=150, seed=seed)
        return metric(m, "output_loss")

    low = loss(steps((0, 0.2), (60, 0.5), interpolate="linear"))
    high = loss(steps((0, 0.4), (60, 0.9), interpolate="linear"))
    assert high <= low + 1e-9


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("fields", "field", "fix"),
    [
        ({"licence_valid_days": 0.0}, "licence_valid_days", "give days > 0"),
        ({"application_interval_days": -1.0}, "application_interval_days", "give days > 0"),
        ({"covered_share": 1.5}, "covered_share", "[0, 1]"),
        ({"approval_probability": steps((5, 0.2), (5, 0.4))}, "points[1].date", "ascending"),
        ({"approved_share": steps((0, 1.2))}, "approved_share.points[0].value", "[0, 1]"),
        ({"front_running_share": {"widget": 0.5}}, "front_running_share.widget", "ore"),
        (
            {"groups": (DestinationGroup(destinations=Destinations(countries=("USA",))),)},
            "groups[0]",
            "give one of",
        ),
    ],
)
def test_bad_licence_terms_name_the_field(fields: dict, field: str, fix: str) -> None:
    with pytest.raises(InputError) as err:
        run_pair(supplier_consumer_world(), [control(regime="license", **fields)], horizon=30)
    assert field in err.value.field
    assert fix in err.value.fix


def test_a_group_naming_an_unknown_country_is_an_error() -> None:
    group = DestinationGroup(destinations=Destinations(countries=("XXX",)), review_days=5)
    lic = control(regime="license", groups=(group,))
    with pytest.raises(InputError, match="XXX"):
        run_pair(supplier_consumer_world(), [lic], horizon=30)


def test_stream_stops_when_the_control_ends() -> None:
    # Applications every 20 days from day 10 (10, 30) while the control is in force (it
    # ends on day 45); none after. Reviews of 5 days: licensed [15, 35) and [35, 55).
    lic = control(regime="license", review_days=5, application_interval_days=20, end=45)
    actual, _, _ = run_pair(supplier_consumer_world(), [lic], horizon=120)
    assert log_days(actual, "licence_applied") == [10.0, 30.0]
    assert np.allclose(actual.supply[10:15, ORE_SLOT], 0.0)
    assert actual.supply[15, ORE_SLOT] > D


# ---------------------------------------------------------------- scenario files
LICENCE_FILE = """
extends: {base}
name: flow_licence
events:
  - kind: export_control
    id: ndpr_flow
    issuer: CHN
    commodities: [ndpr_oxide]
    destinations: {{blocs: [allied]}}
    start: 2025-04-04
    regime: license
    application_interval_days: 30
    licence_valid_days: {{dist: uniform, low: 150, high: 180}}
    review_working_days: {{dist: triangular, low: 10, mode: 30, high: 45}}
    covered_share: 0.8
    front_running_share: {{ndpr_oxide: 0.3}}
    approval_probability:
      interpolate: {interpolate}
      points: [{{date: 2025-05-01, value: 0.1}}, {{date: {second}, value: 0.6}}]
    groups:
      - destinations: {{countries: [USA]}}
        review_working_days: 45
"""


def _licence_file(tmp_path, interpolate: str = "linear", second: str = "2025-06-30"):  # type: ignore[no-untyped-def]
    from tests.test_scenario import SCENARIOS

    path = tmp_path / "flow.yaml"
    (tmp_path / "example_ban.yaml").write_text((SCENARIOS / "example_ban.yaml").read_text())
    text = LICENCE_FILE.format(base="example_ban.yaml", interpolate=interpolate, second=second)
    path.write_text(text)
    return path


def test_a_scenario_file_gives_the_new_terms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sim.scenario import load_scenario

    scenario = load_scenario(_licence_file(tmp_path))
    scenario.check()
    events, draws = scenario.sample(np.random.default_rng(0))
    ctl = events[0]
    assert isinstance(ctl, ExportControl)
    assert ctl.application_interval_days == 30.0
    assert 150 <= ctl.licence_valid_days <= 180  # type: ignore[operator]
    assert isinstance(ctl.review_working_days, Distribution)  # drawn per application
    assert ctl.front_running_share == {"ndpr_oxide": 0.3}
    assert isinstance(ctl.approval_probability, Schedule)
    assert ctl.groups[0].review_working_days == 45.0
    assert "events[0].licence_valid_days" in draws
    ensemble = run_scenario(scenario, replications=2, jobs=1)
    trade = ensemble.trade
    may = trade[
        (trade["origin"] == "CHN")
        & (trade["commodity"] == "ndpr_oxide")
        & (trade["destination_bloc"] == "allied")
        & (trade["month"] == pd.Timestamp("2025-05-01"))
    ]
    assert len(may) and (may["actual"].sum() < may["baseline"].sum())


def test_a_bad_schedule_in_a_file_names_the_file_and_the_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from sim.cli import app

    path = _licence_file(tmp_path, second="2025-04-01")  # before the first point
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "flow.yaml" in result.output
    assert "approval_probability.points[1].date" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- volume quotas
def test_annual_quota_is_consumed_exactly_and_refilled_on_1_january() -> None:
    # A quota of 2,000 t a year from day 0 (1 Jan 2025), licences granted at once: the
    # buyer orders its steady 10 t/day, so the quota runs out on day 200. Nothing ships
    # then until 1 Jan 2026 (day 365); the stock (200 t) lasts to day 220, so output is
    # 0 on days 220..364: loss 10 x 145 = 1,450 by day 400. Shipped in 2025: 2,000 t.
    lic = control(regime="license", review_days=0, start=0, quota_t=2000.0)
    actual, _, m = run_pair(supplier_consumer_world(), [lic], horizon=400)
    supply = actual.supply[:, ORE_SLOT]
    assert supply[:365].sum() == pytest.approx(2000.0, rel=1e-9)
    assert np.allclose(supply[:200], D) and np.allclose(supply[200:365], 0.0)
    assert supply[365] > D  # refilled: the buyer restocks
    assert log_days(actual, "quota_used_up") == [200.0]
    assert log_days(actual, "quota_allocated") == [0.0, 365.0]
    assert zero_days(actual) == list(range(220, 365))
    assert metric(m, "output_loss") == pytest.approx(D * 145, rel=1e-9)


def test_quota_batches_allocate_by_date() -> None:
    # Two batches, 500 t on day 0 and 500 t on 1 Jul 2025 (day 181): the first lasts 50
    # days; nothing ships on days 50..180 (output 0 from day 70, when the stock is out,
    # to day 180 included); the second batch restocks and serves the buyer from day 181
    # until it is used up as well.
    from sim.events import QuotaBatch

    batches = (QuotaBatch(date=0, quantity=500.0), QuotaBatch(date="2025-07-01", quantity=500.0))
    lic = control(regime="license", review_days=0, start=0, quota_batches=batches)
    actual, _, _ = run_pair(supplier_consumer_world(), [lic], horizon=300)
    supply = actual.supply[:, ORE_SLOT]
    assert np.allclose(supply[:50], D) and np.allclose(supply[50:181], 0.0)
    assert supply.sum() == pytest.approx(1000.0, rel=1e-9)
    zero = zero_days(actual)
    assert zero[:111] == list(range(70, 181)) and 181 not in zero
    assert log_days(actual, "quota_allocated") == [0.0, 181.0]


def test_volume_quota_errors() -> None:
    from sim.events import QuotaBatch

    both = control(
        regime="license", quota_t=10.0, quota_batches=(QuotaBatch(date=0, quantity=1.0),)
    )
    with pytest.raises(InputError, match="quota_batches"):
        run_pair(supplier_consumer_world(), [both], horizon=30)
    with pytest.raises(InputError, match="quota_t"):
        run_pair(supplier_consumer_world(), [control(quota_t=-1.0)], horizon=30)


# ---------------------------------------------------------------- held cargo
def test_hold_keeps_cargo_at_the_border_and_releases_it_all_at_the_end() -> None:
    # A customs hold from day 10 to day 40, nothing released meanwhile: the supplier
    # keeps selling (the buyer even orders more as its stock falls), but nothing is
    # cleared, so the buyer's supply is 0 on days 10..39 and its stock (200 t) runs out
    # on day 30. On day 40 everything held is released within a day (a zero-day lane):
    # far more than the buyer lacks, so output is back at once. Loss 10 x 10 = 100.
    hold = control(regime="hold", end=40)
    actual, _, m = run_pair(supplier_consumer_world(), [hold], horizon=120)
    supply = actual.supply[:, ORE_SLOT]
    assert np.allclose(supply[10:40], 0.0)
    assert supply[40] > 300.0  # 30 days of sales, released in one day
    assert zero_days(actual) == list(range(30, 40))
    assert metric(m, "output_loss") == pytest.approx(D * 10, rel=1e-9)
    # Conserved: nothing is left at the border, and the balance closes.
    assert actual.balance["held_final"].sum() == pytest.approx(0.0, abs=1e-9)
    balance = material_balance(actual)
    assert np.allclose(balance["sources"], balance["uses"], rtol=1e-9, atol=1e-6)


def test_cargo_still_held_at_the_horizon_is_its_own_balance_term() -> None:
    # An open-ended hold releasing 5 % of the held cargo a day: at the horizon cargo is
    # still at the border, counted as held_final, and the material balance closes.
    hold = control(regime="hold", hold_release_share=0.05)
    actual, _, _ = run_pair(supplier_consumer_world(noise_cv=0.2), [hold], horizon=90)
    assert actual.balance["held_final"].sum() > 10.0
    balance = material_balance(actual)
    assert np.allclose(balance["sources"], balance["uses"], rtol=1e-9, atol=1e-6)
    assert (actual.supply[11:, ORE_SLOT] > 0).all()  # the daily releases arrive


def test_a_longer_hold_never_loses_less() -> None:
    losses = []
    for days in (15, 25, 35, 50, 70):
        hold = control(regime="hold", end=10 + days, hold_release_share=0.02)
        _, _, m = run_pair(supplier_consumer_world(), [hold], horizon=150)
        losses.append(metric(m, "output_loss"))
    assert losses == sorted(losses)
    assert losses[0] == pytest.approx(0.0, abs=1e-9) and losses[-1] > 0


def test_a_refused_buyer_joins_a_stream_when_the_control_is_eased_to_one() -> None:
    # One application from day 10, reviewed in 5 days and refused (approval 0); the buyer
    # would file again on day 45. Eased on day 20 to a stream of applications every 10
    # days, approved: the stream starts that day (filed 20, 30, 40, ...; decided 25,
    # 35, 45, ...), and the pending re-application does not hold it back.
    from sim.events import ExportControlChange

    lic = control(regime="license", review_days=5, approval_probability=0.0, reapply_days=30)
    ease = ExportControlChange(
        control="ctl",
        date=20,
        action="ease",
        changes={"application_interval_days": 10.0, "approval_probability": 1.0},
    )
    actual, _, _ = run_pair(supplier_consumer_world(), [lic, ease], horizon=60)
    assert log_days(actual, "licence_refused") == [15.0]
    assert log_days(actual, "licence_approved")[:3] == [25.0, 35.0, 45.0]
    assert np.allclose(actual.supply[10:25, ORE_SLOT], 0.0)
    assert actual.supply[25, ORE_SLOT] > D


def test_a_volume_quota_cannot_be_changed_later() -> None:
    from sim.events import ExportControlChange

    lic = control(regime="license", review_days=0, quota_t=100.0)
    change = ExportControlChange(
        control="ctl", date=20, action="tighten", changes={"quota_t": 50.0}
    )
    with pytest.raises(InputError) as err:
        run_pair(supplier_consumer_world(), [lic, change], horizon=30)
    assert err.value.field == "changes.quota_t" and "quota_batches" in err.value.fix


def test_working_days_count_as_numpy_busday_offset() -> None:
    """Decision days of working-day reviews: numpy.busday_offset's rule, without numpy."""
    from sim.licences import working_day_after

    for start in [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(7)]:
        day0 = np.datetime64(start, "D")
        for day in range(0, 60):
            for n in range(0, 25):
                expected = np.busday_offset(day0 + day, n, roll="forward") - day0
                assert working_day_after(day, n, start.weekday()) == int(expected.astype(int))
