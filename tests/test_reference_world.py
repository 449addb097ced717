"""The bundled reference world in ``data/``: sourced rows, pinned figures, a feasible baseline.

The figures come from ``shared/reference`` (calibration tables with source tags
[Cnn]); ``data/SOURCES.md`` lists the derivations and assumptions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.tables import TABLES

DATA = Path(__file__).resolve().parent.parent / "data"
START = "2025-01-01"
FIVE_YEARS = 1826


@pytest.fixture(scope="module")
def world() -> sim.World:
    return sim.load_world(DATA)


@pytest.fixture(scope="module")
def baseline(world: sim.World) -> sim.RunRecord:
    return sim.simulate(
        world, [], start=START, horizon_days=FIVE_YEARS, rng=np.random.default_rng(0)
    )


def test_every_row_of_every_table_has_a_source(world: sim.World) -> None:
    for name in TABLES:
        table = world[name]
        if name not in ("stockpiles", "capacity_schedule", "finished_goods", "joint_products"):
            assert len(table) > 0, name
        empty = table["source"].astype(str).str.strip() == ""
        assert not empty.any(), f"{name}: rows without source {table[empty].index.tolist()}"
        # Every row cites a publication tag or says it is an assumption.
        cited = table["source"].str.contains(r"\[C\d\d\]") | table["source"].str.contains(
            "assumption"
        )
        assert cited.all(), f"{name}: {table.loc[~cited, 'source'].tolist()[:2]}"


def _source(world: sim.World, table: str, column: str, key: str) -> str:
    frame = world[table]
    rows = frame[frame[column] == key]
    assert len(rows) >= 1, (table, key)
    return " ".join(rows["source"])


@pytest.mark.parametrize(
    ("table", "column", "key", "word"),
    [
        ("facilities", "facility", "cn_bayan_obo", "derived"),
        ("facilities", "facility", "cn_other_magnets", "derived"),
        ("facilities", "facility", "jp_tdk", "assumption"),
        ("facilities", "facility", "de_vac", "assumption"),
        ("facilities", "facility", "tw_tsmc_cowos", "derived"),
        ("facilities", "facility", "tw_tsmc_cowos", "assumption"),
        ("facilities", "facility", "cn_germanium", "assumption"),
        ("facilities", "facility", "gbr_dc", "assumption"),
        ("facilities", "facility", "us_lynas_texas", "assumption"),
        ("recipes", "input", "ree_concentrate", "derived"),
        ("recipes", "input", "ndpr_oxide", "derived"),
        ("recipes", "input", "dytb_oxide", "assumption"),
        ("recipes", "input", "ai_chip", "assumption"),
        ("recipes", "input", "gallium", "assumption"),
        ("recipes", "input", "germanium", "assumption"),
        ("demand", "commodity", "compute", "derived"),
        ("demand", "commodity", "magnet_end_use", "assumption"),
        ("stockpiles", "holder", "JPN", "assumption"),
        ("lanes", "origin", "*", "assumption"),
    ],
)
def test_derived_and_assumed_rows_say_so(
    world: sim.World, table: str, column: str, key: str, word: str
) -> None:
    assert word in _source(world, table, column, key)


def test_recipes_and_data_centre_magnets_are_assumptions_or_derived(world: sim.World) -> None:
    src = world["recipes"]["source"]
    assert (src.str.contains("derived") | src.str.contains("assumption")).all()
    dc = world["recipes"].query("facility_type == 'data_center' and input == 'ndfeb_magnet'")
    assert dc["source"].str.contains("assumption").all()


def test_pinned_figures(world: sim.World) -> None:
    fac = world.facilities.set_index("facility")
    china_mines = fac[(fac["type"] == "mine") & (fac["country"] == "CHN")]
    # USGS MCS 2025: China 2024 mine production 270,000 t REO (= 2024 quota) [C01].
    assert china_mines["capacity_per_year"].sum() == pytest.approx(270_000)
    # Bayan Obo: 270,000 t x CNRE share of the H1 2024 quota, 94,580 / 135,000 [C10].
    assert fac.at["cn_bayan_obo", "capacity_per_year"] == pytest.approx(
        270_000 * 94_580 / 135_000, abs=1
    )
    assert fac.at["us_mountain_pass", "capacity_per_year"] == 45_000  # USGS [C01]
    assert fac.at["my_lynas_lamp", "capacity_per_year"] == 10_500  # Lynas nameplate [C07]
    assert fac.at["cn_jlmag", "capacity_per_year"] == 40_000  # [C19]
    assert fac.at["cn_gallium", "capacity_per_year"] == pytest.approx(760 * 0.98, abs=1)
    # IEA data via Visual Capitalist: installed data-centre capacity 2024 [C47].
    gw = {"usa_dc": 53.7, "chn_dc": 31.9, "deu_dc": 11.9, "ind_dc": 3.6}
    for dc, value in gw.items():
        assert fac.at[dc, "capacity_per_year"] == pytest.approx(value * 1000 * 365, abs=1)
    jk = fac.loc[["jpn_dc", "kor_dc"], "capacity_per_year"].sum()
    assert jk == pytest.approx(6.6 * 1000 * 365, abs=1)
    total = fac.loc[fac["type"] == "data_center", "capacity_per_year"].sum()
    assert total == pytest.approx(122.2 * 1000 * 365, abs=10)
    assert 40 <= len(fac) <= 120


def test_blocs(world: sim.World) -> None:
    bloc = world.bloc_of()
    for iso in ("USA", "JPN", "KOR", "SGP", "AUS", "ISR", "GBR"):
        assert bloc[iso] == "allied"
    assert bloc["CHN"] == "china"
    for iso in ("TWN", "MYS", "MMR", "IND", "QAT", "ARE", "DEU", "NLD"):
        assert bloc[iso] == "nonaligned"


def _expected_final(world: sim.World, record: sim.RunRecord) -> np.ndarray:
    """Daily final demand per facility as the engine spreads it (without noise)."""
    fac = world.facilities
    ids = record.facilities["facility"].tolist()
    cap = fac.set_index("facility").loc[ids, "capacity_per_year"].to_numpy()
    days = np.arange(record.horizon_days)
    out = np.zeros((record.horizon_days, len(ids)))
    for row in world["demand"].itertuples():
        daily = row.quantity_per_year / 365 * (1 + row.growth_per_year_share) ** (days / 365)
        if row.facility:
            out[:, ids.index(row.facility)] += daily
        else:
            mask = (
                (fac.set_index("facility").loc[ids, "country"] == row.country)
                & (fac.set_index("facility").loc[ids, "commodity"] == row.commodity)
            ).to_numpy()
            share = cap * mask / (cap * mask).sum()
            out += np.outer(daily, share)
    return out


def test_steady_state_meets_data_centre_demand(world: sim.World, baseline: sim.RunRecord) -> None:
    expected = _expected_final(world, baseline)
    types = baseline.facilities["type"].to_numpy()
    served = expected.sum(axis=0) > 0
    ratio = baseline.delivered.sum(axis=0)[served] / expected.sum(axis=0)[served]
    assert np.all(ratio > 0.99), dict(
        zip(baseline.facilities["facility"][served], ratio.round(4), strict=True)
    )
    assert np.all(ratio < 1.01)
    dcs = served & (types == "data_center")
    assert dcs.sum() == 8
    daily = baseline.delivered[:, dcs] / expected[:, dcs]
    assert daily.min() > 0.99


def test_steady_state_stocks_stay_positive(world: sim.World, baseline: sim.RunRecord) -> None:
    slots = baseline.slots.reset_index(drop=True)
    avail = world.facilities.set_index("facility")["available_from"]
    start = pd.Timestamp(START)
    for m, fac in enumerate(slots["facility"]):
        if not pd.isna(slots.at[m, "substitute_of"]) and slots.at[m, "substitute_of"] >= 0:
            continue
        first = 0 if pd.isna(avail[fac]) else max(0, (avail[fac] - start).days)
        # Facilities that open later hold stock from about a quarter after opening.
        settle = 0 if pd.isna(avail[fac]) else 120
        stock = baseline.stock[first + settle :, m]
        if len(stock) == 0:
            continue
        assert stock.min() > 0, (fac, slots.at[m, "input"])


def test_no_facility_above_capacity_and_network_has_slack(
    world: sim.World, baseline: sim.RunRecord
) -> None:
    cap = (
        world.facilities.set_index("facility")
        .loc[baseline.facilities["facility"], "capacity_per_year"]
        .to_numpy()
        / 365
    )
    peak = baseline.output.max(axis=0)
    assert np.all(peak <= cap * (1 + 1e-9))
    # Every stage has spare capacity against what is routed to it.
    types = baseline.facilities["type"].to_numpy()
    for stage in np.unique(types):
        sel = types == stage
        assert baseline.output[-365:, sel].sum(axis=1).max() < cap[sel].sum(), stage


def test_chinese_rare_earth_ban_hits_the_allied_bloc(world: sim.World) -> None:
    ban = sim.ExportControl(
        id="re_ban",
        issuer="CHN",
        commodities=("ndpr_oxide", "dytb_oxide", "ndfeb_magnet"),
        destinations=sim.Destinations(blocs=("allied",)),
        start="2025-04-04",
        end="2026-04-04",
    )
    actual, base = sim.simulate_pair(world, [ban], start=START, horizon_days=1096, seed=1)
    metrics = sim.compute_metrics(actual, base, by=("bloc",))
    loss = metrics[
        (metrics["scope"] == "allied")
        & (metrics["metric"] == "output_loss")
        & metrics["stage"].isin(["magnet_fab", "data_center"])
    ]
    assert (loss["value"] > 0).any()
    assert loss["value"].max() > 0


def test_data_dictionary_is_current() -> None:
    # data/README.md is generated by `paxsim dictionary --out data/README.md`.
    from sim.tables import data_dictionary

    readme = Path(__file__).parent.parent / "data" / "README.md"
    assert readme.read_text() == data_dictionary() + "\n", (
        "run: paxsim dictionary --out data/README.md"
    )
