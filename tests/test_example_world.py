"""The example world's full chain: a ban on the Chinese refiner's exports propagates downstream."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.events import Destinations, ExportControl


@pytest.fixture(scope="module")
def runs() -> tuple[sim.RunRecord, sim.RunRecord]:
    ban = ExportControl(
        id="ban",
        issuer="CHN",
        commodities=("ndpr_oxide",),
        destinations=Destinations(blocs=("allied",)),
        start=100,
        end=465,
    )
    return sim.simulate_pair(
        sim.example_world(), [ban], start="2025-01-01", horizon_days=1000, seed=3
    )


def facility_metric(runs, metric):  # type: ignore[no-untyped-def]
    m = sim.compute_metrics(*runs, by=("facility",))
    own = m[m["metric"] == metric]
    return dict(zip(own["scope"], own["value"], strict=True))


def test_loss_reaches_each_stage_later(runs) -> None:  # type: ignore[no-untyped-def]
    tts = facility_metric(runs, "time_to_survive_days")
    # Hand estimates, days after the ban starts on day 100:
    # - jp_magnet holds 60 days of oxide and 7 days in transit, and still gets the
    #   US refiner's ~2.4 % share: (60 + 7) / 0.976 ~ 69 -> pinned 70;
    # - us_chip_fab gets magnets 21 days later and holds 30 days: 70 + 21 + 30 = 121
    #   (its pro rata share of jp_magnet's shrinking output grows as its orders rise)
    #   -> pinned 126;
    # - us_dc: chips 3 days later, 10 days of cover: 126 + 3 + 10 = 139 -> 142;
    # - jp_dc: chips 21 days later, 10 days of cover: 126 + 21 + 10 = 157 -> 160.
    assert tts["jp_magnet"] == 70
    assert tts["us_chip_fab"] == 126
    assert tts["us_dc"] == 142
    assert tts["jp_dc"] == 160
    # Upstream, the Chinese mine and refiner lose their allied sales at once.
    assert tts["cn_refiner"] == 0
    assert tts["cn_mine"] == 0


def test_pinned_losses_and_recovery(runs) -> None:  # type: ignore[no-untyped-def]
    share = facility_metric(runs, "output_loss_share")
    assert share["jp_magnet"] == pytest.approx(0.232586, abs=1e-6)
    assert share["us_chip_fab"] == pytest.approx(0.105422, abs=1e-6)
    assert share["us_dc"] == pytest.approx(0.098104, abs=1e-6)
    assert share["jp_dc"] == pytest.approx(0.074080, abs=1e-6)
    ttr = facility_metric(runs, "time_to_recover_days")
    # The ban ends on day 465 (day 365 after its start); each stage recovers after the
    # oxide travels down the chain again.
    assert ttr["jp_magnet"] == 453
    assert ttr["us_chip_fab"] == 393
    assert ttr["us_dc"] == 396


def test_direct_and_indirect_loss(runs) -> None:  # type: ignore[no-untyped-def]
    # Only jp_magnet imports from the restricted refiner: its loss is direct; the
    # chip fab and data centers lose indirectly.
    actual, _ = runs
    targeted = dict(zip(actual.facilities["facility"], actual.facilities["targeted"], strict=True))
    assert [f for f, t in targeted.items() if t] == ["jp_magnet"]
    m = sim.compute_metrics(*runs, by=("bloc",))
    allied = m[(m["scope"] == "allied") & (m["stage"] == "magnet_fab")].set_index("metric")
    assert allied.loc["direct_loss", "value"] == allied.loc["output_loss", "value"]
    assert allied.loc["indirect_loss", "value"] == 0
    dc = m[(m["scope"] == "allied") & (m["stage"] == "data_center")].set_index("metric")
    assert dc.loc["direct_loss", "value"] == 0
    assert dc.loc["indirect_loss", "value"] == pytest.approx(dc.loc["output_loss", "value"])


def test_substitution_is_partial_and_censored(runs) -> None:  # type: ignore[no-untyped-def]
    # The US refiner (1,500 t/yr) cannot replace jp_magnet's ~4,000 t/yr of Chinese
    # oxide: substitution never reaches 95 % of use, so it is censored, while the
    # qualification part is the commodity's 120 days.
    m = sim.compute_metrics(*runs, by=("facility",))
    sub = m[(m["scope"] == "jp_magnet") & (m["commodity"] == "ndpr_oxide")].set_index("metric")
    assert sub.loc["substitution_time_days", "censored"]
    assert np.isnan(sub.loc["substitution_time_days", "value"])
    assert sub.loc["substitution_qualification_days", "value"] == 120
    actual, baseline = runs
    us_refiner = list(actual.facilities["facility"]).index("us_refiner")
    # The US refiner runs at its full 1500/365 t/day while substituting.
    assert actual.output[300, us_refiner] == pytest.approx(1500 / 365)
    assert baseline.output[300, us_refiner] < 1500 / 365 / 5


def test_material_balance_closes(runs) -> None:  # type: ignore[no-untyped-def]
    for record in runs:
        bal = sim.material_balance(record)
        assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=0)
