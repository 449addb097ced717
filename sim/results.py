"""Results folders: an ensemble's tables and provenance on disk, written atomically.

:func:`write_results` writes an :class:`~sim.ensemble.Ensemble` to a folder and
:func:`read_results` reads it back. The folder is built in a hidden temporary sibling
(``.<name>.partial-<host>-<pid>-<random>``) and renamed into place only once every file
is written, so a folder named ``<name>`` is always complete. The rename fails if
``<name>`` meanwhile became a non-empty folder, so of two runs writing the same folder
at once, one succeeds and the other raises :class:`FileExistsError`: neither replaces
the other silently. An existing non-empty folder is only replaced with
``overwrite=True``: on Linux in one atomic step (``renameat2(RENAME_EXCHANGE)``),
elsewhere by moving it to a hidden ``.<name>.old-*`` sibling, moving the new one in and
then deleting the old one. A run killed while writing leaves its hidden sibling
behind; the next :func:`write_results` of the same name in the same folder deletes
the ones whose process (``<pid>`` on this host) no longer exists.

With ``out=``, the folder must be a direct child of ``out`` (after resolving ``..``
and symbolic links), and nothing outside ``out`` is created, replaced or deleted.

:func:`sim.sink.write_scenario` (what ``paxsim run`` uses) writes the same folder while
the ensemble runs, appending each replication's rows to the Parquet files in
replication order; :func:`write_results` feeds an ensemble held in memory through the
same writer, so both give byte-identical files. The Parquet files hold one row group
per replication, or per run of replications of at least
:data:`sim.sink.ROW_GROUP_ROWS` rows; :func:`read_results` returns the categories of
label columns sorted. The folder mechanics (names, temporary siblings, atomic moves)
are in :mod:`sim.folders`.

The format below is meant to be copied into the README as is.

## Results folder (format version 2)

| file | content |
|---|---|
| `summary.csv` | one row per scope, stage, commodity and metric: statistics over the replications |
| `replications.parquet` | one row per replication: seed, sampled parameters, headline metrics |
| `metrics.parquet` | every metric of every replication (long format) |
| `series.parquet` | daily output and stock per bloc, actual and baseline, per replication |
| `trade.parquet` | monthly exports per country pair and commodity, actual and baseline |
| `timeline.parquet` | dated moments of each replication's events (start, end, ...) |
| `run.json` | provenance: versions, seeds, input hashes, command line, timing |

Units: quantities are in the commodity's unit (`t`, `unit`, `MW_day`, ... named in the
`unit` column); daily output is that unit per day; shares are 0-1; times are days
counted from the onset of the first disruption. Day 0 is the run's `start` date.

### `summary.csv`

Sorted by scope kind (world, bloc, country, facility_type, facility), then scope,
stage, commodity, metric. Empty cells are NaN.

| column | type | meaning |
|---|---|---|
| `scenario` | text | scenario name |
| `scope_kind` | text | `world`, `bloc`, `country`, `facility_type` or `facility` |
| `scope` | text | bloc, country (ISO3), facility type or facility id; `world` |
| `stage` | text | facility type producing the output |
| `commodity` | text | output commodity; for `substitution_*` metrics the restricted input |
| `metric` | text | metric name (README, Metrics) |
| `unit` | text | commodity unit, `share` or `days` |
| `n` | int | replications in which the metric was computed |
| `mean` | float | mean of the non-censored values, in `unit` |
| `p05`, `p50`, `p95` | float | 5 %, 50 %, 95 % quantiles of the same (linear interpolation) |
| `reached_share` | float | share of the `n` replications where the metric was not censored |

### `replications.parquet`

| column | type | meaning |
|---|---|---|
| `replication` | int64 | 0-based replication index |
| `seed` | int64 | root seed of the ensemble |
| `spawn_key` | text | spawn key of the replication's seed sequence under `SeedSequence(seed)` |
| `t0_day` | float64 | day of the first disruption's onset, metrics count from it (NaN: none) |
| `param/<name>` | float64 | each parameter the scenario sampled |
| `world/<stage>/<commodity>/<metric>` | float64 | headline metric, world level |
| `bloc/<bloc>/<stage>/<commodity>/<metric>` | float64 | headline metric, bloc level |

Headline metrics: `output_loss` (unit), `output_loss_share` (share),
`peak_shortfall_share` (share), `time_to_survive_days` and `time_to_recover_days`
(days). A censored or absent metric is NaN here; `metrics.parquet` tells which.

### `metrics.parquet`

`replication` (int64), `seed` (int64), then the columns of `sim.compute_metrics`:
`scope_kind, scope, stage, commodity, metric` (text), `value` (float64, in `unit`;
NaN when censored), `unit` (text), `censored` (bool), for every scope kind.

### `series.parquet`

| column | type | meaning |
|---|---|---|
| `replication`, `seed` | int64 | as above |
| `series` | category | `output` or `stock` |
| `bloc` | category | bloc of the facilities summed |
| `stage` | category | facility type (`output`); empty for `stock` |
| `commodity` | category | output commodity (`output`) or input commodity held (`stock`) |
| `unit` | category | the commodity's unit |
| `day` | int64 | day index, 0 = `start` |
| `date` | timestamp | calendar date of the day |
| `actual` | float32 | output during the day (unit per day), or stock at its end (unit) |
| `baseline` | float32 | the same in the paired baseline run (`actual` is the actual run) |

`actual` and `baseline` are single precision: 7 significant digits (relative rounding
error at most 6e-8), which halves the series in memory and saves about a quarter of
the file; every metric is computed from the runs in double precision before this
rounding.

### `trade.parquet`

Shipments at departure from one country to another (domestic ones left out), summed
over calendar months; one row per month and country pair and commodity that trades
in either run of a replication (months without shipments hold 0).

| column | type | meaning |
|---|---|---|
| `replication`, `seed` | int64 | as above |
| `origin`, `destination` | category | exporting and importing country (ISO3) |
| `origin_bloc`, `destination_bloc` | category | their blocs at the start of the run |
| `commodity`, `unit` | category | commodity shipped and its unit |
| `month` | timestamp | first day of the calendar month |
| `days` | int64 | days of the month inside the run (fewer in a first or last partial month) |
| `actual` | float64 | quantity shipped in the month (unit per month), actual run |
| `baseline` | float64 | the same in the paired baseline run |

### `timeline.parquet`

| column | type | meaning |
|---|---|---|
| `replication`, `seed` | int64 | as above |
| `event` | text | control id (also of a change), outage target, joining country, new facility |
| `kind` | text | event kind, as in scenario files (`export_control`, ...) |
| `marker` | text | `announced`, `start`, `end`, `general licence`, `suspend`, `resume`, ... |
| `day` | float64 | day of the moment (0 = `start`; may lie past the horizon) |
| `date` | timestamp | its calendar date |

### `run.json`

| key | meaning |
|---|---|
| `format`, `format_version` | `"paxsim-results"`, `3` (2: float64 series; 1: no trade, timeline) |
| `paxsim_version`, `metrics_version` | versions that produced the folder |
| `scenario`, `command` | scenario name and the command line that ran it |
| `created_utc` | time the folder was written (ISO 8601) |
| `seed`, `replications`, `seed_scheme` | root seed, number of replications, how seeds derive |
| `start`, `horizon_days` | date of day 0 and run length (days) |
| `theta`, `k` | threshold share and persistence days of the metrics |
| `stages`, `commodities` | facility types and commodities in chain order, raw to final |
| `jobs`, `wall_seconds` | worker processes and wall-clock seconds of the ensemble run |
| `scenario_files` | list of `{"path", "sha256"}` of the scenario files |
| `world_tables` | SHA-256 of each validated world table as CSV (`sha256_table`) |
| `files` | `{"<file>": {"sha256", "bytes"}}` of the other files of the folder |
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.ensemble import _RESERVED_PARAMS, SUMMARY_COLUMNS, Ensemble
from sim.folders import (
    check_folder_name,
    remove_stale_temporaries,
    result_folder,
    sha256_file,
    sha256_table,
    write_text_atomic,
)
from sim.replication import _Reduced
from sim.sink import (
    FORMAT,
    FORMAT_VERSION,
    METRICS,
    REPLICATIONS,
    RUN,
    SEED_SCHEME,
    SERIES,
    SUMMARY,
    TIMELINE,
    TRADE,
    ResultSink,
    provenance,
)
from sim.version import __version__
from sim.world import World

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SEED_SCHEME",
    "check_folder_name",
    "read_results",
    "remove_stale_temporaries",
    "result_folder",
    "sha256_file",
    "sha256_table",
    "write_results",
    "write_text_atomic",
]

_SUMMARY_TEXT = ["scenario", "scope_kind", "scope", "stage", "commodity", "metric", "unit"]
_SUMMARY_FLOAT = ["mean", "p05", "p50", "p95", "reached_share"]


def write_results(
    ensemble: Ensemble,
    folder: str | Path,
    *,
    command: str,
    scenario_files: list[Path],
    world: World,
    overwrite: bool = False,
    out: str | Path | None = None,
) -> Path:
    """Write an ensemble's results folder atomically (format: module docstring).

    Parameters
    ----------
    ensemble : Ensemble
        The results of :func:`sim.ensemble.run_ensemble`.
    folder : str or Path
        Folder to create. Its parent is created if missing.
    command : str
        The command line that produced the ensemble (recorded in ``run.json``).
    scenario_files : list of Path
        Scenario files the ensemble was built from; their SHA-256 go in ``run.json``.
    world : World
        The world the ensemble ran on; the SHA-256 of each table goes in ``run.json``.
    overwrite : bool
        Replace an existing non-empty ``folder``. Without it that is an error, also
        when another process writes ``folder`` while this one does.
    out : str or Path, optional
        The folder of result folders: ``folder`` must then be a direct child of it
        (``..`` and symbolic links resolved), and nothing outside it is touched.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    InputError
        If ``folder``'s name is ``.``, ``..``, hidden, or leads outside ``out`` or its
        parent (a symbolic link).
    FileExistsError
        If ``folder`` is a file or a symbolic link, or a non-empty folder and
        ``overwrite`` is false (checked first, and again by the final rename).
    FileNotFoundError
        If a scenario file does not exist.
    """
    folder = Path(folder)
    # Everything that can fail on bad input happens before anything is written.
    run = provenance(
        name=ensemble.name,
        command=command,
        seed=ensemble.seed,
        replications=ensemble.replications,
        start=ensemble.start,
        horizon_days=ensemble.horizon_days,
        theta=ensemble.theta,
        k=ensemble.k,
        stages=ensemble.stages,
        commodities=ensemble.commodities,
        jobs=ensemble.jobs,
        wall_seconds=ensemble.wall_seconds,
        scenario_files=scenario_files,
        world=world,
    )
    with ResultSink(folder, overwrite=overwrite, out=out) as sink:
        for item in _replications(ensemble):
            sink.add(item)
        sink.finish(ensemble.name, run)
    return folder


def _replications(ensemble: Ensemble) -> list[_Reduced]:
    """Split an ensemble's tables back into its replications, in order."""
    params = ensemble.parameters
    names = [c for c in params.columns if c not in _RESERVED_PARAMS]

    def parts(frame: pd.DataFrame) -> list[pd.DataFrame]:
        reps = frame["replication"].to_numpy()
        bounds = np.searchsorted(reps, params["replication"].to_numpy())
        ends = [*bounds[1:], len(frame)]
        return [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(bounds, ends, strict=True)]

    tables = [parts(getattr(ensemble, t)) for t in ("metrics", "series", "trade", "timeline")]
    return [
        _Reduced(
            replication=int(row["replication"]),
            spawn_key=tuple(int(v) for v in str(row["spawn_key"]).split(".")),
            params={p: float(row[p]) for p in names},
            t0=float(row["t0_day"]),
            metrics=tables[0][i],
            series=tables[1][i],
            trade=tables[2][i],
            timeline=tables[3][i],
        )
        for i, (_, row) in enumerate(params.iterrows())
    ]


def read_results(
    folder: str | Path, *, tables: tuple[str, ...] | None = None
) -> dict[str, pd.DataFrame | dict[str, Any]]:
    """Read a results folder written by :func:`write_results`.

    Parameters
    ----------
    folder : str or Path
        The results folder.
    tables : tuple of str, optional
        Read only these of ``summary``, ``replications``, ``metrics``, ``series``,
        ``trade``, ``timeline`` (default: all that the folder has); ``run`` is always
        read.

    Returns
    -------
    dict
        ``summary``, ``replications``, ``metrics``, ``series``, ``trade``, ``timeline``
        (DataFrames, columns as in the module docstring; those asked for) and ``run``
        (the content of ``run.json``). A folder of format version 1 has no ``trade``
        or ``timeline``: by default they are left out.

    Raises
    ------
    FileNotFoundError
        If ``folder`` has no ``run.json`` (not a complete results folder), or a table
        asked for is missing (e.g. ``trade`` from a version-1 folder).
    ValueError
        If the folder's format version is newer than this paxsim reads, or a table
        name is unknown.
    """
    folder = Path(folder)
    parquet = {
        "replications": REPLICATIONS,
        "metrics": METRICS,
        "series": SERIES,
        "trade": TRADE,
        "timeline": TIMELINE,
    }
    wanted = ("summary", *parquet) if tables is None else tables
    unknown = sorted(set(wanted) - {"summary", *parquet})
    if unknown:
        raise ValueError(f"unknown result tables {unknown}; give summary, {', '.join(parquet)}")
    if not (folder / RUN).is_file():
        raise FileNotFoundError(f"{folder} is not a complete paxsim results folder (no {RUN})")
    run = json.loads((folder / RUN).read_text(encoding="utf-8"))
    if not isinstance(run, dict):
        raise ValueError(f"{folder}: {RUN} does not hold a JSON object")
    if run.get("format") != FORMAT or int(run.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{folder}: results format {run.get('format')!r} version "
            f"{run.get('format_version')!r} is not readable by paxsim {__version__} "
            f"(reads {FORMAT!r} up to version {FORMAT_VERSION})"
        )
    out: dict[str, pd.DataFrame | dict[str, Any]] = {}
    if "summary" in wanted:
        summary = pd.read_csv(
            folder / SUMMARY,
            dtype={**{c: "str" for c in _SUMMARY_TEXT}, "n": "int64"},
            keep_default_na=False,
            na_values={c: [""] for c in _SUMMARY_FLOAT},
        )
        for column in _SUMMARY_FLOAT:
            summary[column] = summary[column].astype(float)
        out["summary"] = summary[SUMMARY_COLUMNS]
    version = int(run.get("format_version", 0))
    for name, file in parquet.items():
        if name not in wanted:
            continue
        if version < 2 and name in ("trade", "timeline"):
            if tables is None:
                continue
            raise FileNotFoundError(
                f"{folder} has no {file} (results format version {version}; "
                f"run the scenario again with paxsim {__version__})"
            )
        table = pd.read_parquet(folder / file, engine="pyarrow")
        for column in table.columns:
            if isinstance(table[column].dtype, pd.CategoricalDtype):
                # Row groups may list labels in different orders; sort them as in memory.
                cats = table[column].cat.categories
                table[column] = table[column].cat.reorder_categories(sorted(cats))
        out[name] = table
    out["run"] = run
    return out
