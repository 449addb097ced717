"""Standing export controls: the rules of the world's ``controls`` table as events.

A standing control is part of the world, not of a scenario: :func:`sim.engine.simulate`
puts it before the scenario's events in every run, the paired baseline included, so
that what it blocks is in the baseline and is not counted as a loss. A scenario can
still change, tighten or suspend it by id (``export_control_change``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from sim.events import Destinations, ExportControl


class StandingControl(ExportControl):
    """An export control of the world's ``controls`` table: in every run, not a shock.

    The engine does not count its start as a disruption (it does not set the run's
    first disruption day), and the paired baseline has it too.
    """


def standing_controls(tables: Mapping[str, pd.DataFrame], start: dt.date) -> list[StandingControl]:
    """Return the controls of the ``controls`` table still in force on or after ``start``.

    Rows of one id are joined: their commodities and destinations (ISO3 codes of the
    countries table, or bloc names) are the control's. A
    licence regime is taken as administered: ``review_days`` 0 and approval 1, so that
    ``approved_share`` of each covered flow passes from the control's start.

    Parameters
    ----------
    tables : Mapping[str, DataFrame]
        Validated world tables (``controls`` and ``countries`` are read).
    start : datetime.date
        First day of the run; controls that ended before it are left out.

    Returns
    -------
    list of StandingControl
        One event per control id, in the order of the table.
    """
    controls = tables["controls"]
    known = set(tables["countries"]["country"])
    out: list[StandingControl] = []
    for cid, rows in controls.groupby("id", sort=False):
        first = rows.iloc[0]
        end = first["end"]
        if pd.notna(end) and end.date() <= start:
            continue
        dests = tuple(dict.fromkeys(rows["destination"]))
        countries = tuple(d for d in dests if d in known)
        blocs = tuple(d for d in dests if d not in countries)
        out.append(
            StandingControl(
                id=str(cid),
                issuer=first["issuer"],
                commodities=tuple(dict.fromkeys(rows["commodity"])),
                destinations=Destinations(countries=countries, blocs=blocs),
                start=first["start"].date(),
                end=None if pd.isna(end) else end.date(),
                regime=first["regime"],
                review_days=0.0,
                approval_probability=1.0,
                approved_share=float(first["approved_share"]),
            )
        )
    return out
