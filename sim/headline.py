"""The headline table of a run: world and bloc rows of the main metrics, for people and scripts.

:func:`headline_table` reduces the long per-replication metrics table (see
:mod:`sim.metrics` for the definitions) to one row per world and bloc scope, stage and
output commodity; :func:`print_headline` shows it with units in the headers and a
footnote that defines every column; :func:`headline_csv` and :func:`headline_json` give
the same rows and numbers for scripts. This module imports no engine code: it reads
tables that :class:`sim.ensemble.Ensemble` holds and that :func:`sim.results.read_results`
reads back from a result folder.

Statistics over replications, for each row:

- ``loss_share_mean``, ``loss_share_p95``: mean and 95th percentile (linear
  interpolation, as :func:`numpy.quantile`) of ``output_loss_share`` over all
  replications (NaN values skipped).
- ``peak_shortfall_share_p50``: median of ``peak_shortfall_share`` over all replications.
- ``tts_days_p50``: median of ``time_to_survive_days`` over the replications where it was
  reached (not censored); ``tts_date`` the median, over the same replications, of the
  calendar date ``start + t0 + TTS`` (``t0`` the replication's whole day of the first
  disruption's onset, ``floor(t0_day)`` as the metrics count it, 0 without a
  disruption; a median between two days is the earlier day); ``tts_reached_share`` the
  share of all replications where it was reached.
- ``ttr_days_p50``, ``ttr_date``, ``ttr_reached_share``: the same for
  ``time_to_recover_days``. TTR is absent, not only censored, in a replication where
  output never fell below the threshold: such a replication counts as not reached, and
  ``ttr_absent_share`` is the share of replications where that happened (nothing to
  recover from).
- substitution, per restricted input of the row's stage (``substitution_time_days`` rows
  of the same scope and stage, whose ``commodity`` is the input): median days over the
  replications where it was reached, and the share reached (a replication without the
  row counts as not reached). The text column ``substitution`` lists every input, e.g.
  ``"ndpr_oxide 120 d (75 %); dytb_oxide - (0 %)"`` (``-``: reached in no replication);
  ``substitution_input``, ``substitution_days_p50`` and ``substitution_reached_share``
  give the slowest input: the one reached in the fewest replications, then the one with
  the longest median, then the first by name. A stage with several output commodities
  (e.g. ``metal_refiner``: gallium and germanium) gets each input on the row of the
  output group it was computed for, found from the row order of
  :func:`sim.metrics.compute_metrics` (each group's output metrics come before its
  substitution metrics).

Rows come world first, then blocs alphabetically; within a scope, stages in chain order
(the ``stages`` given, or :func:`stage_order`), then output commodities alphabetically.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.errors import InputError

#: Known stages from the mine up to the magnet users, in chain order.
UPSTREAM_STAGES = (
    "mine",
    "refiner",
    "heavy_refiner",
    "metal_refiner",
    "magnet_fab",
    "magnet_user",
)
#: Known stages at the end of the chain, in order; unknown stages go before them.
DOWNSTREAM_STAGES = ("chip_fab", "data_center")

#: Columns of :func:`headline_table`, in order.
COLUMNS = [
    "scenario",
    "scope_kind",
    "scope",
    "stage",
    "commodity",
    "unit",
    "replications",
    "loss_share_mean",
    "loss_share_p95",
    "peak_shortfall_share_p50",
    "tts_days_p50",
    "tts_date",
    "tts_reached_share",
    "ttr_days_p50",
    "ttr_date",
    "ttr_reached_share",
    "ttr_absent_share",
    "substitution",
    "substitution_input",
    "substitution_days_p50",
    "substitution_reached_share",
]

#: Columns holding calendar dates (ISO ``YYYY-MM-DD`` in CSV and JSON).
DATE_COLUMNS = ("tts_date", "ttr_date")

#: What each output unit means, for the footnote.
UNIT_MEANINGS = {
    "t": "t = metric tonne",
    "unit": "unit = one item (for ai_chip: one AI accelerator)",
    "MW_day": "MW_day = one megawatt of AI data-center IT load running for one day",
}

_KEYS = ["scope_kind", "scope", "stage", "commodity"]
_SCOPE_KINDS = ("world", "bloc")

#: The metrics :func:`headline_table` reads (rows of other metrics are ignored).
HEADLINE_TABLE_METRICS = (
    "output_loss",
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
    "substitution_time_days",
)


def stage_order(stages: Iterable[str]) -> list[str]:
    """Return stages in chain order, upstream first.

    Known stages keep the order of :data:`UPSTREAM_STAGES` (``mine`` to ``magnet_user``),
    unknown ones follow in alphabetical order, and :data:`DOWNSTREAM_STAGES` (``chip_fab``,
    ``data_center``) come last, so that a new intermediate stage lands between the
    materials and the compute end of the chain.

    Parameters
    ----------
    stages : iterable of str
        Stage (facility type) names; repeats are dropped.

    Returns
    -------
    list of str
        The distinct stages, ordered.

    Examples
    --------
    >>> stage_order(["data_center", "cathode_plant", "mine", "chip_fab", "refiner"])
    ['mine', 'refiner', 'cathode_plant', 'chip_fab', 'data_center']
    """
    present = {str(s) for s in stages}
    known = set(UPSTREAM_STAGES) | set(DOWNSTREAM_STAGES)
    return (
        [s for s in UPSTREAM_STAGES if s in present]
        + sorted(present - known)
        + [s for s in DOWNSTREAM_STAGES if s in present]
    )


def _day0(start: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """Return the run's start date (day 0) as a timestamp at midnight."""
    try:
        return pd.Timestamp(start).normalize()
    except (TypeError, ValueError):
        raise InputError(
            "headline", "start", f"'{start}' is not a date", "give YYYY-MM-DD"
        ) from None


def _t0_days(replications: pd.DataFrame) -> pd.Series:
    """Return the whole day of each replication's first disruption, as the metrics count it."""
    if "t0_day" not in replications.columns or "replication" not in replications.columns:
        raise InputError(
            "replications",
            "t0_day",
            "is missing (a result folder of format version 1, written before t0_day)",
            "run the scenario again with this paxsim",
        )
    reps = replications.drop_duplicates("replication").set_index("replication")["t0_day"]
    days = reps.astype(float).fillna(0.0)
    return pd.Series(np.floor(days.to_numpy()), index=days.index)


def _reached(values: pd.Series, censored: pd.Series) -> pd.Series:
    """Return the values where reached (not censored, not NaN), NaN elsewhere."""
    return values.astype(float).where(~censored.astype(bool))


def _median_date(days: np.ndarray, day0: pd.Timestamp) -> pd.Timestamp | None:
    """Return the median of day numbers as a date (between two days: the earlier day)."""
    if not len(days):
        return None
    return day0 + pd.Timedelta(days=math.floor(float(np.median(days))))


def _time_stats(
    rows: pd.DataFrame, t0: pd.Series, day0: pd.Timestamp, n: int
) -> tuple[float, pd.Timestamp | None, float]:
    """Return median days and median date over reached replications, and the share reached."""
    reached = rows[rows["value"].notna()]
    days = reached["value"].to_numpy(dtype=float)
    if not len(days):
        return np.nan, None, 0.0
    onset = t0.reindex(reached["replication"]).fillna(0.0).to_numpy(dtype=float)
    share = reached["replication"].nunique() / n
    return float(np.median(days)), _median_date(onset + days, day0), float(share)


def _percent(share: float) -> str:
    """Format a share (0-1) as a whole percentage (``"75 %"``)."""
    return "-" if not np.isfinite(share) else f"{100 * share:.0f} %"


def _days(value: float) -> str:
    """Format days: whole days as integers, half days (a median of two) with one decimal."""
    if not np.isfinite(value):
        return "-"
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _substitution_entries(
    metrics: pd.DataFrame, groups: pd.DataFrame, n: int
) -> dict[tuple[str, str, str, str], list[tuple[str, float, float]]]:
    """Per output group: ``(input, median days over reached, share reached)`` per input."""
    out_metric = ~metrics["metric"].astype(str).str.startswith("substitution_")
    owner = metrics["commodity"].astype(object).where(out_metric)
    owner = owner.groupby(
        [metrics["replication"], metrics["scope_kind"], metrics["scope"], metrics["stage"]],
        sort=False,
    ).ffill()
    sub = metrics["metric"] == "substitution_time_days"
    frame = pd.DataFrame(
        {
            "scope_kind": metrics.loc[sub, "scope_kind"].astype(str),
            "scope": metrics.loc[sub, "scope"].astype(str),
            "stage": metrics.loc[sub, "stage"].astype(str),
            "input": metrics.loc[sub, "commodity"].astype(str),
            "owner": owner[sub],
            "replication": metrics.loc[sub, "replication"],
            "value": _reached(metrics.loc[sub, "value"], metrics.loc[sub, "censored"]),
        }
    )
    outputs = groups.groupby(["scope_kind", "scope", "stage"])["commodity"].agg(list)
    single = {key: vals[0] for key, vals in outputs.items() if len(vals) == 1}
    stage_key = list(zip(frame["scope_kind"], frame["scope"], frame["stage"], strict=True))
    frame["owner"] = [
        single.get(key, own) for key, own in zip(stage_key, frame["owner"], strict=True)
    ]
    entries: dict[tuple[str, str, str, str], list[tuple[str, float, float]]] = {}
    frame = frame[frame["owner"].notna()]
    for key, rows in frame.groupby(["scope_kind", "scope", "stage", "owner", "input"]):
        kind, scope, stage, owner_com, com = (str(v) for v in key)
        reached = rows[rows["value"].notna()]
        median = float(reached["value"].median()) if len(reached) else np.nan
        share = reached["replication"].nunique() / n
        entries.setdefault((kind, scope, stage, owner_com), []).append((com, median, share))
    return entries


def _slowest(entries: Sequence[tuple[str, float, float]]) -> tuple[str, float, float]:
    """Return the slowest input: fewest replications reached, then longest median, then name."""
    return min(
        entries,
        key=lambda e: (e[2], -e[1] if np.isfinite(e[1]) else -np.inf, e[0]),
    )


def headline_table(
    metrics: pd.DataFrame,
    replications: pd.DataFrame,
    *,
    start: dt.date | str | pd.Timestamp,
    scenario: str = "",
    stages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reduce per-replication metrics to the headline table (see the module docstring).

    Parameters
    ----------
    metrics : DataFrame
        The long metrics table, columns ``replication, seed, scope_kind, scope, stage,
        commodity, metric, value, unit, censored`` (:attr:`sim.ensemble.Ensemble.metrics`,
        or ``read_results(folder)["metrics"]``), in the row order
        :func:`sim.metrics.compute_metrics` writes within each replication.
    replications : DataFrame
        One row per replication with columns ``replication`` and ``t0_day`` (day of the
        first disruption's onset counted from ``start``, NaN without one):
        :attr:`sim.ensemble.Ensemble.parameters` or ``read_results(folder)["replications"]``.
        Its number of rows is the denominator of every reached share.
    start : date or ISO string
        The run's calendar start date (day 0).
    scenario : str
        Value of the ``scenario`` column.
    stages : sequence of str, optional
        Stages in the order to show them, e.g. the world's own chain order
        (:attr:`sim.ensemble.Ensemble.stages`, or ``run["stages"]`` of run.json); stages
        not in it follow in the order of :func:`stage_order`. Default: :func:`stage_order`.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`: one row per world and bloc scope, stage and output
        commodity, ordered world first, then blocs alphabetically, then stages in chain
        order (``stages``, or :func:`stage_order`). Shares are 0-1 and days are days
        after ``t0``; dates are timestamps (NaT where no replication reached); NaN where
        nothing was reached.

    Raises
    ------
    InputError
        If ``replications`` has no ``t0_day`` column or no rows, or ``start`` is not a date.
    """
    day0 = _day0(start)
    t0 = _t0_days(replications)
    n = len(t0)
    if n == 0:
        raise InputError(
            "replications", "replication", "has no rows", "give one row per replication"
        )
    m = metrics[metrics["scope_kind"].isin(_SCOPE_KINDS)]
    m = m.assign(value=_reached(m["value"], m["censored"]))
    groups = (
        m.loc[m["metric"] == "output_loss_share", _KEYS]
        .astype(str)
        .drop_duplicates()
        .reset_index(drop=True)
    )
    units = (
        m.loc[m["metric"] == "output_loss"]
        .assign(**{c: m[c].astype(str) for c in _KEYS})
        .drop_duplicates(_KEYS)
        .set_index(_KEYS)["unit"]
        .astype(str)
        .to_dict()
    )
    substitution = _substitution_entries(m, groups, n)
    by_metric = {
        name: {
            tuple(str(v) for v in key): rows
            for key, rows in part.groupby(_KEYS, sort=False, observed=True)
        }
        for name, part in m.groupby("metric", sort=False, observed=True)
        if name
        in (
            "output_loss_share",
            "peak_shortfall_share",
            "time_to_survive_days",
            "time_to_recover_days",
        )
    }
    empty = pd.DataFrame({"replication": pd.Series(dtype=np.int64), "value": []})

    def rows_of(metric: str, key: tuple[str, ...]) -> pd.DataFrame:
        return by_metric.get(metric, {}).get(key, empty)

    records: list[dict[str, Any]] = []
    for key in groups.itertuples(index=False, name=None):
        kind, scope, stage, commodity = (str(v) for v in key)
        loss = rows_of("output_loss_share", key)["value"].dropna().to_numpy(dtype=float)
        peak = rows_of("peak_shortfall_share", key)["value"].dropna().to_numpy(dtype=float)
        tts = _time_stats(rows_of("time_to_survive_days", key), t0, day0, n)
        ttr_rows = rows_of("time_to_recover_days", key)
        ttr = _time_stats(ttr_rows, t0, day0, n)
        entries = sorted(substitution.get((kind, scope, stage, commodity), []))
        slow = _slowest(entries) if entries else ("", np.nan, np.nan)
        records.append(
            {
                "scenario": scenario,
                "scope_kind": kind,
                "scope": scope,
                "stage": stage,
                "commodity": commodity,
                "unit": units.get((kind, scope, stage, commodity), ""),
                "replications": n,
                "loss_share_mean": float(loss.mean()) if len(loss) else np.nan,
                "loss_share_p95": float(np.quantile(loss, 0.95)) if len(loss) else np.nan,
                "peak_shortfall_share_p50": float(np.median(peak)) if len(peak) else np.nan,
                "tts_days_p50": tts[0],
                "tts_date": tts[1],
                "tts_reached_share": tts[2],
                "ttr_days_p50": ttr[0],
                "ttr_date": ttr[1],
                "ttr_reached_share": ttr[2],
                "ttr_absent_share": 1.0 - ttr_rows["replication"].nunique() / n,
                "substitution": "; ".join(
                    f"{com} {_days(days)}{' d' if np.isfinite(days) else ''} ({_percent(share)})"
                    for com, days, share in entries
                ),
                "substitution_input": slow[0],
                "substitution_days_p50": slow[1],
                "substitution_reached_share": slow[2],
            }
        )
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column in DATE_COLUMNS:
        table[column] = pd.to_datetime(table[column])
    if table.empty:
        return table
    present = set(table["stage"])
    given = [] if stages is None else [s for s in dict.fromkeys(stages) if s in present]
    order_of = given + stage_order(present - set(given))
    chain = {stage: i for i, stage in enumerate(order_of)}
    order = pd.DataFrame(
        {
            "kind": table["scope_kind"].map({k: i for i, k in enumerate(_SCOPE_KINDS)}),
            "scope": table["scope"],
            "stage": table["stage"].map(chain),
            "commodity": table["commodity"],
        }
    ).sort_values(["kind", "scope", "stage", "commodity"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def onset_summary(replications: pd.DataFrame, start: dt.date | str | pd.Timestamp) -> str:
    """Say from which date the days of the headline table count (``t0``), in one line.

    Parameters
    ----------
    replications : DataFrame
        Columns ``replication`` and ``t0_day``, as for :func:`headline_table`.
    start : date or ISO string
        The run's calendar start date (day 0).

    Returns
    -------
    str
        E.g. ``"days count from t0 = 2025-04-04, the onset of the first disruption"``.
    """
    day0 = _day0(start)
    t0 = _t0_days(replications)
    if replications["t0_day"].isna().all():
        return f"no disruption: days count from the start of the run, {day0.date()}"
    first, last = (day0 + pd.Timedelta(days=float(d)) for d in (t0.min(), t0.max()))
    if first == last:
        return f"days count from t0 = {first.date()}, the onset of the first disruption"
    return (
        f"days count from t0, the onset of the first disruption, which varies from "
        f"{first.date()} to {last.date()} between replications"
    )


#: Display columns: (header with units, table column, kind of formatting).
_DISPLAY = [
    ("scope", "scope", "text"),
    ("stage", "stage", "text"),
    ("output (unit)", "commodity", "output"),
    ("loss\nmean %", "loss_share_mean", "percent"),
    ("loss\np95 %", "loss_share_p95", "percent"),
    ("peak\nshortfall\nmedian %", "peak_shortfall_share_p50", "percent"),
    ("TTS days\nmedian,\nreached\nonly", "tts_days_p50", "days"),
    ("TTS date", "tts_date", "date"),
    ("TTS\nreached\n%", "tts_reached_share", "reached"),
    ("TTR days\nmedian,\nreached\nonly", "ttr_days_p50", "days"),
    ("TTR date", "ttr_date", "date"),
    ("TTR\nreached\n%", "ttr_reached_share", "reached"),
    ("never\nbelow\ntheta %", "ttr_absent_share", "reached"),
    (
        "substitution per\nrestricted input:\nmedian days, reached\nonly (reached %)",
        "substitution",
        "lines",
    ),
]


def _cell(row: pd.Series, column: str, kind: str) -> Text:
    value = row[column]
    if kind == "output":
        return Text(f"{value} ({row['unit']})" if row["unit"] else str(value))
    if kind == "percent":
        return Text("-" if pd.isna(value) else f"{100 * float(value):.1f}")
    if kind == "reached":
        return Text("-" if pd.isna(value) else f"{100 * float(value):.0f}")
    if kind == "days":
        return Text(_days(float(value)))
    if kind == "date":
        return Text("-" if pd.isna(value) else pd.Timestamp(value).date().isoformat())
    if kind == "lines":
        return Text("\n".join(str(value).split("; ")) if value else "")
    return Text(str(value))


def headline_rich(table: pd.DataFrame, *, title: str | None = None) -> Table:
    """Render the headline table as a :class:`rich.table.Table`, units in the headers.

    Shares are shown in percent with one decimal, days as whole days (a median of an
    even number of replications may end in ``.5``), dates as ``YYYY-MM-DD``; ``-``
    where no replication reached. A line separates one scope from the next.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`headline_table`.
    title : str, optional
        Title above the table.

    Returns
    -------
    rich.table.Table
        The table, without the footnote (:func:`headline_notes`).
    """
    out = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        padding=(0, 0),
        show_edge=False,
    )
    for header, _, kind in _DISPLAY:
        text_like = kind in ("text", "output", "lines")
        out.add_column(
            header,
            justify="left" if text_like else "right",
            no_wrap=True,
            overflow="fold",
        )
    scopes = table["scope_kind"].astype(str) + "/" + table["scope"].astype(str)
    for i, (_, row) in enumerate(table.iterrows()):
        last = i + 1 == len(table) or scopes.iloc[i + 1] != scopes.iloc[i]
        out.add_row(*(_cell(row, col, kind) for _, col, kind in _DISPLAY), end_section=last)
    return out


def headline_notes(table: pd.DataFrame, *, theta: float = 0.95, k: int = 7) -> list[str]:
    """Return the footnote of the headline table: one line per column, then the units.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`headline_table` (for the number of replications and units).
    theta : float
        Threshold share of baseline output the run's metrics used.
    k : int
        Days a threshold crossing had to hold.

    Returns
    -------
    list of str
        The lines, each under 160 characters; the names in parentheses are the columns
        of ``--format csv|json``.
    """
    n = int(table["replications"].iloc[0]) if len(table) else 0
    lines = [
        f"Against the paired baseline (the same run without the disruptions), over {n} "
        f"replications; threshold theta = {100 * theta:g} % of baseline output, held for "
        f"k = {k} days.",
        "loss mean %, loss p95 % (loss_share_mean, loss_share_p95): output lost below the "
        "baseline from t0 to the horizon, in % of baseline output; all replications.",
        "peak shortfall median % (peak_shortfall_share_p50): largest one-day shortfall, "
        "1 - actual/baseline, from t0 on; median over all replications.",
        "TTS, time to survive (tts_days_p50): days from t0 until output first stays below "
        "theta for k days; median over the replications that reached it only.",
        "TTR, time to recover (ttr_days_p50): days from t0 until output is back at or above "
        "theta up to the horizon (k days at least); median over recovered ones only.",
        "TTS date, TTR date (tts_date, ttr_date): median of start + t0 + days over the same "
        "replications, as a calendar date.",
        "reached % (tts_reached_share, ttr_reached_share): % of all replications. never below "
        "theta % (ttr_absent_share): % whose output never fell under theta (no TTR).",
        "substitution (substitution_*): per restricted input, days from t0 until unrestricted "
        "suppliers deliver theta x baseline use for k days; median, reached %.",
        "'-': reached in no replication by the horizon. A dip shorter than k days has a TTR "
        "but no TTS.",
    ]
    units = sorted({str(u) for u in table["unit"] if str(u)}) if len(table) else []
    meanings = [UNIT_MEANINGS.get(u, f"{u} = the commodity's unit") for u in units]
    if meanings:
        lines.append("Output units: " + "; ".join(meanings) + ".")
    return lines


def print_headline(
    table: pd.DataFrame,
    *,
    theta: float = 0.95,
    k: int = 7,
    title: str | None = None,
    file: IO[str] | None = None,
    width: int = 160,
) -> None:
    """Print the headline table and its footnote with rich.

    On a terminal the table may use colour and takes the terminal's width, or ``width``
    if the terminal is narrower (its lines then wrap, but no cell is cut); elsewhere
    (pipes, files, CI) it is plain text at most ``width`` characters wide, without
    trailing spaces, so that it reads the same everywhere.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`headline_table`.
    theta, k : float, int
        Threshold and persistence days of the run's metrics (for the footnote).
    title : str, optional
        Title above the table (e.g. the scenario name and :func:`onset_summary`).
    file : text file, optional
        Where to print (default: standard output at the time of the call).
    width : int
        Width in characters when ``file`` is not a terminal.
    """
    stream = sys.stdout if file is None else file
    tty = bool(getattr(stream, "isatty", lambda: False)())
    options: dict[str, Any] = {"highlight": False, "emoji": False, "markup": False}
    buffer = io.StringIO()
    if tty:
        console = Console(file=stream, **options)
        console.width = max(console.width, width)  # a narrow terminal wraps, nothing is cut
    else:
        console = Console(file=buffer, width=width, color_system=None, **options)
    if title:
        console.print(Text(title), soft_wrap=True)
    console.print(headline_rich(table))
    console.print()
    for line in headline_notes(table, theta=theta, k=k):
        console.print(Text(line), soft_wrap=True)
    if not tty:
        stream.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Return the table with dates as ISO strings (None where missing)."""
    out = table.copy()
    for column in DATE_COLUMNS:
        out[column] = [
            None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in out[column]
        ]
    return out


def headline_csv(table: pd.DataFrame, *, header: bool = True) -> str:
    """Return the headline table as CSV: columns :data:`COLUMNS`, NaN empty, dates ISO.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`headline_table` (or several concatenated).
    header : bool
        Whether to write the header line.

    Returns
    -------
    str
        The CSV text, numbers at full precision.
    """
    buffer = io.StringIO()
    _plain(table).to_csv(buffer, index=False, header=header, na_rep="", lineterminator="\n")
    return buffer.getvalue()


def headline_json(table: pd.DataFrame) -> str:
    """Return the headline table as a JSON array of row objects (NaN null, dates ISO).

    Parameters
    ----------
    table : DataFrame
        The result of :func:`headline_table` (or several concatenated).

    Returns
    -------
    str
        One JSON document: ``[{"scenario": ..., "scope_kind": ..., ...}, ...]`` with the
        keys of :data:`COLUMNS`, numbers at full precision.
    """
    records = []
    for row in _plain(table).to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for name, value in row.items():
            if isinstance(value, float | np.floating):
                clean[str(name)] = float(value) if np.isfinite(value) else None
            elif isinstance(value, np.integer):
                clean[str(name)] = int(value)
            else:
                clean[str(name)] = value
        records.append(clean)
    return json.dumps(records, indent=1, allow_nan=False) + "\n"
