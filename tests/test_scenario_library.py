"""The scenario library in scenarios/: validity, documentation, golden numbers, direction.

* Every ``scenarios/*.yaml`` loads (:func:`sim.load_scenario`) and opens with the
  schema line and a header comment citing at least one source tag ([Cnn] or [brief]).
* The three Pax Silica scenarios restate the base's control verbatim (lists replace
  under ``extends``), so they differ from each other only in policy.
* Golden numbers: each library scenario is run with 2 replications (overriding the
  file) on the file's seed, ``jobs=1``, and a few headline numbers of
  ``Ensemble.summary()`` are pinned in :data:`GOLDEN`.
* Plausibility: the baseline loses nothing; every disruption scenario makes the allied
  bloc lose output somewhere.
* Direction: with 8 paired replications, pax_silica_expansion does not do worse than
  pax_silica_talk_shop for allied data centres, allied magnet end users and allied
  magnet substitution.

The pinned numbers are regenerated ON PURPOSE only (after a deliberate change to the
engine, the reference world or a scenario), with::

    .venv/bin/python tests/test_scenario_library.py

which prints a new ``GOLDEN = {...}`` literal to paste below.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.ensemble import run_scenario
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
LIBRARY = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("example_"))
ALL_FILES = sorted(SCENARIOS.glob("*.yaml"))
SOURCE_TAG = re.compile(r"\[(C\d{2}|brief)\]")
SCHEMA_LINE = "# yaml-language-server: $schema=./paxsim.schema.json"

GOLDEN_REPLICATIONS = 2
DIRECTION_REPLICATIONS = 8
REVIEW_STEP_DAYS = 7.0  # sim.engine.Settings().review_days

#: Headline numbers: (scope_kind, scope, stage, commodity, metric, statistic).
HEADLINES = (
    ("world", "world", "data_center", "compute", "output_loss_share", "mean"),
    ("bloc", "allied", "data_center", "compute", "output_loss_share", "mean"),
    ("world", "world", "magnet_fab", "ndfeb_magnet", "output_loss_share", "mean"),
    ("bloc", "allied", "magnet_fab", "ndfeb_magnet", "output_loss_share", "mean"),
    ("bloc", "allied", "magnet_fab", "ndfeb_magnet", "time_to_survive_days", "p50"),
    ("bloc", "allied", "ev_motors", "ev_motor", "output_loss_share", "mean"),
    ("bloc", "allied", "electronics", "electronic_device", "output_loss_share", "mean"),
)
#: The magnet end-use stages of the reference world.
END_USES = ("ev_motors", "wind_turbines", "industrial_motors", "electronics", "defence")

#: Tolerance of the golden numbers, as measured across fresh installs on 2026-12-01:
#: with constraints.txt, Python 3.11, 3.12 and 3.13 gave identical numbers, bit for bit;
#: a different dependency set (numpy 1.26.4, pandas 2.2.3, pyarrow 17) moved them by at
#: most 8.9e-13 relative (2.9e-17 absolute on the ~1e-15 residue shares of
#: gallium_germanium_2023). The tolerance is about a hundred times that spread, for
#: machines whose CPUs sum in another order (numpy picks SIMD kernels at run time).
GOLDEN_REL = 1e-10
GOLDEN_ABS = 1e-14

#: Pinned headline numbers per scenario file, in the order of HEADLINES (NaN: the
#: metric was not reached in either replication). Regenerated on purpose with
#: `.venv/bin/python tests/test_scenario_library.py` (2 replications, file seed, jobs=1).
GOLDEN: dict[str, tuple[float, ...]] = {
    "baseline.yaml": (0.0, 0.0, 0.0, 0.0, math.nan, 0.0, 0.0),
    "china_retaliates.yaml": (
        3.203358315962949e-05,
        3.203358315965046e-05,
        0.011892601110503786,
        0.1296411731736828,
        180.0,
        0.047059738005283167,
        0.15876114136198893,
    ),
    "gallium_germanium_2023.yaml": (
        8.23952276461156e-17,
        9.088254088274622e-17,
        8.602229179271928e-07,
        9.115979917667117e-07,
        math.nan,
        8.727905154124727e-17,
        1.7408548813059934e-16,
    ),
    "japan_2010.yaml": (
        math.nan,
        math.nan,
        0.016127868797166087,
        0.23095135166837133,
        264.0,
        0.10011310286379885,
        0.11115038574569697,
    ),
    "pax_silica_base.yaml": (
        3.658075911062103e-05,
        3.658075911088813e-05,
        0.0006474666393455669,
        0.0003444355980255993,
        math.nan,
        9.298708848149365e-06,
        0.005433382221678367,
    ),
    "pax_silica_expansion.yaml": (
        4.063120198161981e-05,
        4.0631201981990904e-05,
        0.0009507555483049976,
        0.00014949484022377428,
        math.nan,
        1.1135804960748256e-05,
        0.004517671227839073,
    ),
    "pax_silica_talk_shop.yaml": (
        3.9797858025344214e-05,
        3.979785802594485e-05,
        0.0009545785423886769,
        0.00014921674864294628,
        math.nan,
        1.0283322615756666e-05,
        0.004517636989911026,
    ),
    "ree_controls_2025.yaml": (
        1.399513769316193e-07,
        1.3995137721944045e-07,
        0.03964457298798277,
        0.0753018060353641,
        54.0,
        0.007242921042766753,
        4.005697517513613e-09,
    ),
}


def _run(path: Path, replications: int, jobs: int = 1) -> sim.Ensemble:
    return run_scenario(load_scenario(path), replications=replications, jobs=jobs)


@cache
def _golden_run(name: str) -> pd.DataFrame:
    # jobs=2: results are identical for any number of jobs (tests/test_ensemble.py).
    return _run(SCENARIOS / name, GOLDEN_REPLICATIONS, jobs=2).summary()


def headline_numbers(summary: pd.DataFrame) -> tuple[float, ...]:
    """The HEADLINES statistics of a summary table (NaN where a row is absent)."""
    out = []
    for kind, scope, stage, commodity, metric, stat in HEADLINES:
        row = summary[
            (summary["scope_kind"] == kind)
            & (summary["scope"] == scope)
            & (summary["stage"] == stage)
            & (summary["commodity"] == commodity)
            & (summary["metric"] == metric)
        ]
        out.append(float(row[stat].iloc[0]) if len(row) else math.nan)
    return tuple(out)


# ----------------------------------------------------------------------------- validity


def test_library_is_complete() -> None:
    names = {p.name for p in LIBRARY}
    assert {
        "baseline.yaml",
        "japan_2010.yaml",
        "gallium_germanium_2023.yaml",
        "ree_controls_2025.yaml",
        "pax_silica_base.yaml",
        "pax_silica_expansion.yaml",
        "pax_silica_talk_shop.yaml",
        "china_retaliates.yaml",
    } <= names


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.description.strip()


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_library_scenario_is_documented(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == SCHEMA_LINE
    header = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert len(header) >= 5, f"{path.name}: header comment too short"
    assert SOURCE_TAG.search(text), f"{path.name}: header cites no source tag"
    assert load_scenario(path).world_spec.base == "reference"


@pytest.mark.parametrize(
    "child", ["pax_silica_expansion.yaml", "pax_silica_talk_shop.yaml", "china_retaliates.yaml"]
)
def test_coalition_scenarios_restate_the_base_control(child: str) -> None:
    base = load_scenario(SCENARIOS / "pax_silica_base.yaml")
    scenario = load_scenario(SCENARIOS / child)
    assert scenario.extends == "pax_silica_base.yaml"
    assert scenario.events[0] == base.events[0]
    for field in ("start", "horizon_days", "seed", "replications", "world_spec"):
        assert getattr(scenario, field) == getattr(base, field)


def test_expansion_and_talk_shop_differ_only_in_parameters() -> None:
    """Same events, same kinds, same ids, in the same order: paired draws line up."""
    a = load_scenario(SCENARIOS / "pax_silica_expansion.yaml").events
    b = load_scenario(SCENARIOS / "pax_silica_talk_shop.yaml").events
    assert [e.kind for e in a] == [e.kind for e in b]
    key = ("id", "facility", "country", "holder", "commodity")
    assert [tuple(getattr(e, k, None) for k in key) for e in a] == [
        tuple(getattr(e, k, None) for k in key) for e in b
    ]


# ----------------------------------------------------------------------------- golden numbers


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_golden_headline_numbers(path: Path) -> None:
    assert path.name in GOLDEN, (
        f"no pinned numbers for {path.name}; run .venv/bin/python "
        "tests/test_scenario_library.py and paste the output"
    )
    got = headline_numbers(_golden_run(path.name))
    assert got == pytest.approx(GOLDEN[path.name], rel=GOLDEN_REL, abs=GOLDEN_ABS, nan_ok=True)


def test_baseline_loses_nothing() -> None:
    summary = _golden_run("baseline.yaml")
    losses = summary[summary["metric"] == "output_loss_share"]
    assert len(losses) > 0
    assert losses["mean"].abs().max() < 1e-9


@pytest.mark.parametrize(
    "name", [p.name for p in LIBRARY if p.name != "baseline.yaml"], ids=lambda n: n
)
def test_disruption_hurts_the_allied_bloc(name: str) -> None:
    summary = _golden_run(name)
    allied = summary[
        (summary["scope_kind"] == "bloc")
        & (summary["scope"] == "allied")
        & (summary["metric"] == "output_loss_share")
    ]
    assert allied["mean"].max() > 1e-6, f"{name}: no allied loss anywhere"
    shares = summary[summary["metric"] == "output_loss_share"]["mean"].dropna()
    assert ((shares >= -1e-12) & (shares <= 1 + 1e-12)).all()


# ----------------------------------------------------------------------------- direction


@pytest.fixture(scope="module")
def expansion_vs_talk_shop() -> pd.DataFrame:
    # jobs=2: results are identical for any number of jobs, only faster.
    a = _run(SCENARIOS / "pax_silica_expansion.yaml", DIRECTION_REPLICATIONS, jobs=2)
    b = _run(SCENARIOS / "pax_silica_talk_shop.yaml", DIRECTION_REPLICATIONS, jobs=2)
    return sim.paired_differences(a.metrics, b.metrics, a.name, b.name)


def _diff(frame: pd.DataFrame, stage: str, commodity: str, metric: str) -> pd.DataFrame:
    return frame[
        (frame["scope_kind"] == "bloc")
        & (frame["scope"] == "allied")
        & (frame["stage"] == stage)
        & (frame["commodity"] == commodity)
        & (frame["metric"] == metric)
    ]


def test_expansion_loses_less_allied_compute(expansion_vs_talk_shop: pd.DataFrame) -> None:
    row = _diff(expansion_vs_talk_shop, "data_center", "compute", "output_loss")
    assert len(row) == 1 and row["n"].iloc[0] == DIRECTION_REPLICATIONS
    assert row["mean"].iloc[0] <= 0.0


def test_expansion_loses_no_more_at_allied_magnet_end_users(
    expansion_vs_talk_shop: pd.DataFrame,
) -> None:
    frame = expansion_vs_talk_shop
    rows = frame[
        (frame["scope_kind"] == "bloc")
        & (frame["scope"] == "allied")
        & frame["stage"].isin(END_USES)
        & (frame["metric"] == "output_loss")
    ]
    assert len(rows) == len(END_USES)
    assert rows["mean"].sum() <= 0.0, rows[["stage", "mean", "n"]].to_string()


def test_expansion_substitutes_magnets_no_later(expansion_vs_talk_shop: pd.DataFrame) -> None:
    rows = expansion_vs_talk_shop[
        (expansion_vs_talk_shop["scope_kind"] == "bloc")
        & (expansion_vs_talk_shop["scope"] == "allied")
        & (expansion_vs_talk_shop["metric"] == "substitution_time_days")
        & (expansion_vs_talk_shop["stage"].isin(["magnet_fab", *END_USES]))
    ]
    # Only replications where both scenarios reached substitution are compared, so n is
    # small at 8 replications: a stage and input is compared where both reached it in
    # at least half of them (n = 2 of 8 is noise: defence magnets gave +18 days on n = 2).
    # Substitution is found at the resolution of the 7-day ordering review (and k = 7
    # persistence days), so "not longer" is checked to within one review step.
    rows = rows[rows["n"] >= DIRECTION_REPLICATIONS // 2]
    assert len(rows) > 0
    for _, row in rows.iterrows():
        assert row["mean"] <= REVIEW_STEP_DAYS, (
            f"{row['stage']}/{row['commodity']}: {row['mean']:+.1f} days on n = {row['n']}"
        )


if __name__ == "__main__":  # regenerate GOLDEN on purpose
    print("GOLDEN: dict[str, tuple[float, ...]] = {")
    for path in LIBRARY:
        numbers = headline_numbers(_golden_run(path.name))
        text = ", ".join("math.nan" if math.isnan(x) else repr(x) for x in numbers)
        print(f'    "{path.name}": ({text}),')
    print("}")
