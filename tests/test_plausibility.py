"""sim.plausibility on a world whose baseline year is known by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.errors import InputError
from sim.plausibility import TARGET_COLUMNS, check_baseline, read_targets
from tests.worlds import supplier_consumer


def targets(rows: list[dict[str, object]], tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "targets.csv"
    base = dict.fromkeys(TARGET_COLUMNS, "") | {"year": 2025, "as_of": "false", "source": "hand"}
    pd.DataFrame([base | r for r in rows], columns=list(TARGET_COLUMNS)).to_csv(path, index=False)
    return read_targets(path)


def test_share_exports_and_utilisation_of_a_two_facility_world(tmp_path: Path) -> None:
    # The CHN mine (100 t/day) is the only ore producer and ships d = 10 t a day to the
    # US consumer (capacity 20 a day), which holds its target stock from day 0:
    # China's share of ore 1, exports 10 x 365 = 3,650 t, mine utilisation 0.1,
    # consumer utilisation 0.5.
    world = supplier_consumer(demand_per_day=10, cover_days=20)
    table = targets(
        [
            {"check": "share", "commodity": "ore", "country": "CHN", "low": 0.99, "high": 1},
            {"check": "share", "stage": "factory", "country": "USA", "low": 0.99, "high": 1},
            {
                "check": "exports",
                "commodity": "ore",
                "country": "CHN",
                "destination": "USA",
                "value": 3650,
                "low": 3000,
                "high": 4000,
            },
            {
                "check": "exports",
                "commodity": "ore",
                "country": "CHN",
                "destination": "all",
                "low": 0,
                "high": 1,
            },
            {"check": "utilisation", "facility": "sup", "low": 0.05, "high": 0.2},
            {"check": "utilisation", "facility": "*", "low": 0.3, "high": 1.0},
        ],
        tmp_path,
    )
    out = check_baseline(world, table).set_index(["check", "facility", "destination"])
    assert out.loc[("share", "", ""), "simulated"].tolist() == pytest.approx([1.0, 1.0])
    assert out.loc[("exports", "", "USA"), "simulated"] == pytest.approx(3650.0, rel=1e-9)
    assert out.loc[("exports", "", "all"), "simulated"] == pytest.approx(3650.0, rel=1e-9)
    assert not out.loc[("exports", "", "all"), "ok"]
    assert out.loc[("utilisation", "sup", ""), "simulated"] == pytest.approx(0.1, rel=1e-9)
    # '*' expands to the facilities no other row names: only the consumer.
    assert out.loc[("utilisation", "con", ""), "simulated"] == pytest.approx(0.5, rel=1e-9)
    assert len(out) == 6


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"check": "shares", "low": 0, "high": 1}, "check (row 1)"),
        ({"check": "share", "low": "x", "high": 1}, "low (row 1)"),
        ({"check": "share", "low": 2, "high": 1}, "low (row 1)"),
        ({"check": "share", "low": 0, "high": 1, "source": " "}, "source (row 1)"),
    ],
)
def test_bad_target_rows_name_the_field(row: dict[str, object], field: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        targets([row], tmp_path)
    assert err.value.field == field
