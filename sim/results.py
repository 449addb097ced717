"""Results folders: an ensemble's tables and provenance on disk, written atomically.

:func:`write_results` writes an :class:`~sim.ensemble.Ensemble` to a folder and
:func:`read_results` reads it back. The folder is built in a hidden temporary sibling
(``.<name>.partial-*``) and renamed into place only once every file is written, so a
folder named ``<name>`` is always complete; an interrupted run leaves at most a hidden
``.partial`` sibling. An existing non-empty folder is only replaced with
``overwrite=True``.

The format below is meant to be copied into the README as is.

## Results folder (format version 1)

| file | content |
|---|---|
| `summary.csv` | one row per scope, stage, commodity and metric: statistics over the replications |
| `replications.parquet` | one row per replication: seed, sampled parameters, headline metrics |
| `metrics.parquet` | every metric of every replication (long format) |
| `series.parquet` | daily output and stock per bloc, actual and baseline, per replication |
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
| `actual` | float64 | output during the day (unit per day), or stock at its end (unit) |
| `baseline` | float64 | the same in the paired baseline run (`actual` is the actual run) |

### `run.json`

| key | meaning |
|---|---|
| `format`, `format_version` | `"paxsim-results"`, `1` |
| `paxsim_version`, `metrics_version` | versions that produced the folder |
| `scenario`, `command` | scenario name and the command line that ran it |
| `created_utc` | time the folder was written (ISO 8601) |
| `seed`, `replications`, `seed_scheme` | root seed, number of replications, how seeds derive |
| `start`, `horizon_days` | date of day 0 and run length (days) |
| `theta`, `k` | threshold share and persistence days of the metrics |
| `jobs`, `wall_seconds` | worker processes and wall-clock seconds of the ensemble run |
| `scenario_files` | list of `{"path", "sha256"}` of the scenario files |
| `world_tables` | SHA-256 of each validated world table as CSV (`sha256_table`) |
| `files` | `{"<file>": {"sha256", "bytes"}}` of the other files of the folder |
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.ensemble import SUMMARY_COLUMNS, Ensemble
from sim.metrics import METRICS_VERSION
from sim.world import World

#: Version of the folder format written by :func:`write_results`.
FORMAT_VERSION = 1
FORMAT = "paxsim-results"

SUMMARY = "summary.csv"
SERIES = "series.parquet"
REPLICATIONS = "replications.parquet"
METRICS = "metrics.parquet"
RUN = "run.json"

SEED_SCHEME = (
    "replication r uses SeedSequence(seed).spawn(replications)[r] "
    "(= SeedSequence(seed, spawn_key=(r,))); its child (r, 0) seeds the generator "
    "handed to the scenario's sample function, its child (r, 1) seeds two generators: "
    "one for the actual run and one for its paired baseline (same random numbers)"
)

_SUMMARY_TEXT = ["scenario", "scope_kind", "scope", "stage", "commodity", "metric", "unit"]
_SUMMARY_FLOAT = ["mean", "p05", "p50", "p95", "reached_share"]


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_table(table: pd.DataFrame) -> str:
    """Return the SHA-256 hex digest of a table's CSV serialisation.

    The serialisation is ``table.to_csv(index=False)`` with newline line ends, in UTF-8,
    of the validated table (defaults filled in), not of the file it was read from.
    """
    text = table.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_summary(summary: pd.DataFrame, path: Path) -> None:
    summary.to_csv(path, index=False, lineterminator="\n", na_rep="")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False, engine="pyarrow")


def _write_json(content: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _is_nonempty_dir(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _move_into_place(tmp: Path, folder: Path) -> None:
    """Rename the finished temporary folder ``tmp`` to ``folder``, replacing it if present."""
    if not folder.exists():
        os.replace(tmp, folder)
        return
    # An empty folder, or overwrite=True: move the old one aside, then swap.
    old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:12]}"
    os.replace(folder, old)
    try:
        os.replace(tmp, folder)
    except BaseException:
        os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_results(
    ensemble: Ensemble,
    folder: str | Path,
    *,
    command: str,
    scenario_files: list[Path],
    world: World,
    overwrite: bool = False,
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
        Replace an existing non-empty ``folder``. Without it that is an error.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    FileExistsError
        If ``folder`` is a file, or a non-empty folder and ``overwrite`` is false.
    FileNotFoundError
        If a scenario file does not exist.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} exists and is not a folder")
    if _is_nonempty_dir(folder) and not overwrite:
        raise FileExistsError(
            f"{folder} exists and is not empty; pass overwrite=True to replace it"
        )
    # Everything that can fail on bad input happens before anything is written.
    inputs = [{"path": str(p), "sha256": sha256_file(p)} for p in scenario_files]
    tables = {name: sha256_table(table) for name, table in world.tables.items()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        _write_summary(ensemble.summary(), tmp / SUMMARY)
        _write_parquet(ensemble.replication_table(), tmp / REPLICATIONS)
        _write_parquet(ensemble.metrics, tmp / METRICS)
        _write_parquet(ensemble.series, tmp / SERIES)
        files = {
            name: {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
            for name in (SUMMARY, REPLICATIONS, METRICS, SERIES)
        }
        run = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "paxsim_version": sim.__version__,
            "metrics_version": METRICS_VERSION,
            "scenario": ensemble.name,
            "command": command,
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seed": ensemble.seed,
            "replications": ensemble.replications,
            "seed_scheme": SEED_SCHEME,
            "start": ensemble.start.isoformat(),
            "horizon_days": ensemble.horizon_days,
            "theta": ensemble.theta,
            "k": ensemble.k,
            "jobs": ensemble.jobs,
            "wall_seconds": ensemble.wall_seconds,
            "scenario_files": inputs,
            "world_tables": tables,
            "files": files,
        }
        # run.json last: its presence marks a complete folder even to tools that do not
        # know about the rename.
        _write_json(run, tmp / RUN)
        for name in (*files, RUN):
            _fsync(tmp / name)
        _fsync(tmp)
        _move_into_place(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(folder.parent)
    return folder


def read_results(folder: str | Path) -> dict[str, pd.DataFrame | dict[str, Any]]:
    """Read a results folder written by :func:`write_results`.

    Parameters
    ----------
    folder : str or Path
        The results folder.

    Returns
    -------
    dict
        ``summary``, ``replications``, ``metrics``, ``series`` (DataFrames, columns as
        in the module docstring) and ``run`` (the content of ``run.json``).

    Raises
    ------
    FileNotFoundError
        If ``folder`` has no ``run.json`` (not a complete results folder).
    ValueError
        If the folder's format version is newer than this paxsim reads.
    """
    folder = Path(folder)
    if not (folder / RUN).is_file():
        raise FileNotFoundError(f"{folder} is not a complete paxsim results folder (no {RUN})")
    run = json.loads((folder / RUN).read_text(encoding="utf-8"))
    if run.get("format") != FORMAT or int(run.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{folder}: results format {run.get('format')!r} version "
            f"{run.get('format_version')!r} is not readable by paxsim {sim.__version__} "
            f"(reads {FORMAT!r} up to version {FORMAT_VERSION})"
        )
    summary = pd.read_csv(
        folder / SUMMARY,
        dtype={**{c: "str" for c in _SUMMARY_TEXT}, "n": "int64"},
        keep_default_na=False,
        na_values={c: [""] for c in _SUMMARY_FLOAT},
    )
    for column in _SUMMARY_FLOAT:
        summary[column] = summary[column].astype(float)
    return {
        "summary": summary[SUMMARY_COLUMNS],
        "replications": pd.read_parquet(folder / REPLICATIONS, engine="pyarrow"),
        "metrics": pd.read_parquet(folder / METRICS, engine="pyarrow"),
        "series": pd.read_parquet(folder / SERIES, engine="pyarrow"),
        "run": run,
    }
