"""A results folder written while its ensemble runs: flat memory for any replication count.

:func:`write_ensemble` runs a scenario's replications (in this process, in worker
processes or on a Dask cluster, :func:`sim.ensemble.replications_in_order`) and hands
each one, in replication order, to a :class:`ResultSink`. The sink appends its
metrics, daily series, monthly trade and timeline to the Parquet files of the folder
(a row group per replication, or per ~:data:`ROW_GROUP_ROWS` rows of small tables) and
then lets them go, keeping only each replication's sampled parameters. Once the last
replication is in, the files are closed and :func:`read_back` reads ``metrics.parquet``
back one row group at a time (a second pass, well under a second for 1,000
replications) for what the end of the run needs: the exact statistics of
``summary.csv`` (:class:`sim.summary.MetricsSummary`) and the world and bloc metric
rows of the headline table and ``replications.parquet``. So nothing grows with the
replications while they run; only that final pass holds, for a moment, the metric
values of every replication (:data:`sim.memory.SUMMARY_CELL_BYTES` per metric row and
replication) and the world and bloc rows (:data:`sim.memory.HEADLINE_ROW_BYTES` each).

The folder is written as :func:`sim.results.write_results` writes one (same format,
same guarantees): in a hidden temporary sibling that is moved into place only once
``run.json`` is written, and deleted if anything fails or the run is interrupted.
Because replications arrive in order and every file is written from them alone, the
files are identical byte for byte whatever the executor and the number of workers
(``run.json`` differs only in the command, the time and the wall seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim import folders
from sim.ensemble import (
    HEADLINE_METRICS,
    make_job,
    parameters_table,
    replication_table,
    replications_in_order,
)
from sim.headline import HEADLINE_TABLE_METRICS
from sim.metrics import METRICS_VERSION
from sim.reduce import _LABEL_COLUMNS, _TRADE_LABELS, chain_order
from sim.replication import _Reduced
from sim.summary import KEYS, MetricsSummary
from sim.version import __version__
from sim.world import World

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario import Scenario

#: Version of the folder format (see :mod:`sim.results`).
FORMAT_VERSION = 3
FORMAT = "paxsim-results"

SUMMARY = "summary.csv"
SERIES = "series.parquet"
REPLICATIONS = "replications.parquet"
METRICS = "metrics.parquet"
TRADE = "trade.parquet"
TIMELINE = "timeline.parquet"
RUN = "run.json"

SEED_SCHEME = (
    "replication r uses SeedSequence(seed).spawn(replications)[r] "
    "(= SeedSequence(seed, spawn_key=(r,))); its child (r, 0) seeds the generator "
    "handed to the scenario's sample function, its child (r, 1) seeds two generators: "
    "one for the actual run and one for its paired baseline (same random numbers)"
)

#: Rows gathered before a row group is written (tables of a replication with more rows,
#: such as the daily series, make one row group each). It bounds the rows of small
#: tables (metrics, trade, timeline) held before they are written.
ROW_GROUP_ROWS = 16_384

_ID = [("replication", pa.int64()), ("seed", pa.int64())]
_TEXT = pa.large_string()
_LABEL = pa.dictionary(pa.int32(), pa.large_string())
_DAY = pa.timestamp("us")

#: Arrow schema of each streamed table (the columns of :mod:`sim.results`).
SCHEMAS: dict[str, pa.Schema] = {
    METRICS: pa.schema(
        [
            *_ID,
            *((c, _TEXT) for c in ("scope_kind", "scope", "stage", "commodity", "metric")),
            ("value", pa.float64()),
            ("unit", _TEXT),
            ("censored", pa.bool_()),
        ]
    ),
    SERIES: pa.schema(
        [
            *_ID,
            *((c, _LABEL) for c in _LABEL_COLUMNS),
            ("day", pa.int64()),
            ("date", _DAY),
            ("actual", pa.float32()),
            ("baseline", pa.float32()),
        ]
    ),
    TRADE: pa.schema(
        [
            *_ID,
            *((c, _LABEL) for c in _TRADE_LABELS),
            ("month", _DAY),
            ("days", pa.int64()),
            ("actual", pa.float64()),
            ("baseline", pa.float64()),
        ]
    ),
    TIMELINE: pa.schema(
        [
            *_ID,
            *((c, _TEXT) for c in ("event", "kind", "marker")),
            ("day", pa.float64()),
            ("date", _DAY),
        ]
    ),
}

#: Scope kinds and metrics whose rows the headline and the replications table need.
HEADLINE_SCOPES = ("world", "bloc")
HEADLINE_ROWS_METRICS = tuple(dict.fromkeys((*HEADLINE_METRICS, *HEADLINE_TABLE_METRICS)))


class TableWriter:
    """Append a table's per-replication chunks to one Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self._writer: pq.ParquetWriter | None = None
        self._buffer: list[pa.Table] = []
        self._rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        """Add one replication's rows (columns as :attr:`schema`)."""
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self._buffer.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        if self._writer is None:
            # The first chunk's pandas metadata tells readers how to rebuild the frame.
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._buffer, self._rows = [], 0

    def abort(self) -> None:
        """Close the file without writing what is left (its folder is being deleted)."""
        self._buffer = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        """Write what is left and close the file."""
        self._flush()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema)
        self._writer.close()


@dataclass(frozen=True)
class Written:
    """What :func:`write_ensemble` keeps of a run once its folder is written.

    The fields of :class:`sim.ensemble.Ensemble` that the headline table needs;
    ``metrics`` holds only the world and bloc rows of the metrics these two tables read,
    :data:`HEADLINE_ROWS_METRICS` (the folder has every row), read back from
    ``metrics.parquet`` with categorical labels (:func:`read_back`).
    """

    name: str
    folder: Path
    seed: int
    replications: int
    start: dt.date
    horizon_days: int
    theta: float
    k: int
    parameters: pd.DataFrame
    metrics: pd.DataFrame
    summary: pd.DataFrame
    stages: tuple[str, ...]
    commodities: tuple[str, ...]
    wall_seconds: float
    jobs: int


class ResultSink:
    """Write replications to a results folder as they arrive, in replication order.

    Use as a context manager: entering checks the target and makes the temporary
    sibling; :meth:`add` appends a replication; :meth:`finish` writes the summary,
    the replications table and ``run.json`` and moves the folder into place; leaving
    without :meth:`finish` (an error, an interrupt) deletes the temporary sibling.
    """

    def __init__(
        self, folder: str | Path, *, overwrite: bool = False, out: str | Path | None = None
    ) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        self.target = folders.checked_target(self.folder, out)
        self._tmp: Path | None = None
        self._writers: dict[str, TableWriter] = {}
        self._kept: list[_Reduced] = []  # each replication without its tables

    def __enter__(self) -> ResultSink:
        target = self.target
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise FileExistsError(f"{self.folder} exists and is not a folder")
        if folders.is_nonempty_dir(target) and not self.overwrite:
            raise FileExistsError(
                f"{self.folder} exists and is not empty; pass overwrite=True to replace it"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        folders.remove_stale_temporaries(target.parent, target.name)
        self._tmp = folders.temporary_sibling(target, "partial")
        self._tmp.mkdir()
        self._writers = {name: TableWriter(self._tmp / name, s) for name, s in SCHEMAS.items()}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:  # not finished
            for writer in self._writers.values():
                try:
                    writer.abort()
                except (OSError, pa.ArrowException):  # a failed write may have broken it
                    pass
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def add(self, item: _Reduced) -> None:
        """Append one replication's tables (replications must arrive in order)."""
        if item.replication != len(self._kept):
            raise ValueError(
                f"replication {item.replication} arrived, {len(self._kept)} was expected"
            )
        self._writers[METRICS].append(item.metrics)
        self._writers[SERIES].append(item.series)
        self._writers[TRADE].append(item.trade)
        self._writers[TIMELINE].append(item.timeline)
        self._kept.append(replace(item, metrics=_NONE, series=_NONE, trade=_NONE, timeline=_NONE))

    def finish(
        self, name: str, run: dict[str, Any]
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Write the rest of the folder and move it into place.

        The Parquet files are closed first; the summary and the world and bloc metric
        rows are then read back from ``metrics.parquet`` (:func:`read_back`).

        Parameters
        ----------
        name : str
            Scenario name (the ``scenario`` column of the summary).
        run : dict
            The provenance keys of ``run.json`` (``files`` and the format keys are
            added here).

        Returns
        -------
        summary, parameters, metrics : DataFrame
            The summary, the parameters table and the world and bloc metric rows of
            :data:`HEADLINE_ROWS_METRICS`.
        """
        tmp = self._tmp
        if tmp is None:
            raise RuntimeError("ResultSink.finish outside its with block")
        for writer in self._writers.values():
            writer.close()
        summary, metrics = read_back(tmp / METRICS, name, len(self._kept))
        parameters = parameters_table(self._kept, int(run["seed"]))
        write_summary(summary, tmp / SUMMARY)
        write_parquet(replication_table(parameters, metrics), tmp / REPLICATIONS)
        files = {
            file: {"sha256": folders.sha256_file(tmp / file), "bytes": (tmp / file).stat().st_size}
            for file in (SUMMARY, REPLICATIONS, METRICS, SERIES, TRADE, TIMELINE)
        }
        content = {"format": FORMAT, "format_version": FORMAT_VERSION, **run, "files": files}
        # run.json last: its presence marks a complete folder even to tools that do not
        # know about the rename.
        write_json(content, tmp / RUN)
        for file in (*files, RUN):
            folders.fsync_path(tmp / file)
        folders.fsync_path(tmp)
        folders.move_into_place(tmp, self.target, self.overwrite)
        self._tmp = None
        folders.fsync_path(self.target.parent)
        return summary, parameters, metrics


_NONE = pd.DataFrame()


def read_back(path: Path, scenario: str, replications: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a streamed ``metrics.parquet`` back for the summary and the headline rows.

    One row group at a time (each holds whole replications, in order), with the label
    columns read as dictionaries (their strings are not made once per row): every
    replication's rows go to a :class:`sim.summary.MetricsSummary`, as they would
    have while running, and the rows of :data:`HEADLINE_SCOPES` and
    :data:`HEADLINE_ROWS_METRICS` are kept (fewer rows are fewer pandas temporaries in
    the headline: at 1,000 replications of ``example_ban`` it then adds ~6 MB to the
    peak, not ~35 MB).

    Parameters
    ----------
    path : Path
        The closed ``metrics.parquet`` of replications ``0 .. replications - 1``.
    scenario : str
        Value of the summary's ``scenario`` column.
    replications : int
        Number of replications (one without metric rows still counts).

    Returns
    -------
    summary, metrics : DataFrame
        The summary (:meth:`sim.summary.MetricsSummary.table`) and the world and bloc
        rows of :data:`HEADLINE_ROWS_METRICS`, in file order with a fresh index; their
        label columns (``KEYS``) are categoricals with sorted categories (~31 bytes a
        row instead of ~125 as strings).
    """
    file = pq.ParquetFile(path, read_dictionary=list(KEYS))
    summary = MetricsSummary()
    kept: list[pa.Table] = []
    scopes = pa.array(HEADLINE_SCOPES, type=pa.large_string())
    names = pa.array(HEADLINE_ROWS_METRICS, type=pa.large_string())
    done = 0  # replications added to the summary
    for group in range(file.num_row_groups):
        table = file.read_row_group(group)
        headline = pc.and_(
            pc.is_in(table["scope_kind"], value_set=scopes),
            pc.is_in(table["metric"], value_set=names),
        )
        kept.append(table.filter(headline))
        frame = table.to_pandas()
        del table
        reps = frame["replication"].to_numpy()
        starts = np.flatnonzero(np.r_[True, reps[1:] != reps[:-1]])
        for begin, end in zip(starts, [*starts[1:], len(reps)], strict=True):
            done = _add_until(summary, frame.iloc[:0], done, int(reps[begin]))
            summary.add(frame.iloc[begin:end])
            done += 1
        del frame
    _add_until(summary, SCHEMAS[METRICS].empty_table().to_pandas(), done, replications)
    if kept:
        metrics = pa.concat_tables(kept).unify_dictionaries().to_pandas()
    else:
        metrics = SCHEMAS[METRICS].empty_table().to_pandas()
    del kept  # the Arrow tables, before the summary's grids are made
    for column in KEYS:
        labels = metrics[column].astype("category").cat.remove_unused_categories()
        metrics[column] = labels.cat.reorder_categories(sorted(labels.cat.categories))
    return summary.table(scenario), metrics


def _add_until(summary: MetricsSummary, empty: pd.DataFrame, done: int, upto: int) -> int:
    """Add replications ``done .. upto - 1``, which have no metric rows; return ``upto``."""
    for _ in range(done, upto):
        summary.add(empty)
    return max(done, upto)


def write_summary(summary: pd.DataFrame, path: Path) -> None:
    """Write the summary table as CSV (empty cells for NaN)."""
    summary.to_csv(path, index=False, lineterminator="\n", na_rep="")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table held in memory as one Parquet file."""
    frame.to_parquet(path, index=False, engine="pyarrow")


def write_json(content: dict[str, Any], path: Path) -> None:
    """Write ``run.json``."""
    path.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def provenance(
    *,
    name: str,
    command: str,
    seed: int,
    replications: int,
    start: dt.date,
    horizon_days: int,
    theta: float,
    k: int,
    stages: tuple[str, ...],
    commodities: tuple[str, ...],
    jobs: int,
    wall_seconds: float,
    scenario_files: list[Path],
    world: World,
) -> dict[str, Any]:
    """Return the keys of ``run.json`` but ``format``, ``format_version`` and ``files``."""
    return {
        "paxsim_version": __version__,
        "metrics_version": METRICS_VERSION,
        "scenario": name,
        "command": command,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "replications": replications,
        "seed_scheme": SEED_SCHEME,
        "start": start.isoformat(),
        "horizon_days": horizon_days,
        "theta": theta,
        "k": k,
        "stages": list(stages),
        "commodities": list(commodities),
        "jobs": jobs,
        "wall_seconds": wall_seconds,
        "scenario_files": [
            {"path": str(p), "sha256": folders.sha256_file(p)} for p in scenario_files
        ],
        "world_tables": {n: folders.sha256_table(t) for n, t in world.tables.items()},
    }


def write_scenario(
    scenario: Scenario,
    folder: str | Path,
    *,
    command: str,
    scenario_files: list[Path],
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
    out: str | Path | None = None,
) -> Written:
    """Run a loaded scenario as an ensemble, streaming its results folder to ``folder``.

    The results are those of :func:`sim.ensemble.run_scenario` with the same
    arguments, and the folder that of :func:`sim.results.write_results` (module
    docstring); memory stays flat in the number of replications.

    Parameters
    ----------
    scenario : Scenario
        The loaded scenario; ``replications`` and ``seed`` default to its own.
    folder : str or Path
        The results folder to write; with ``out``, a direct child of ``out``.
    command : str
        The command line (recorded in ``run.json``).
    scenario_files : list of Path
        Scenario files the run was built from (their SHA-256 go in ``run.json``).
    jobs, executor, scheduler, progress
        As in :func:`sim.ensemble.run_ensemble`.
    overwrite : bool
        Replace an existing non-empty ``folder``.

    Returns
    -------
    Written
        The summary, parameters and world and bloc metrics, for the headline table.

    Raises
    ------
    InputError
        On bad arguments or a sampled scenario that is invalid.
    FileExistsError
        If ``folder`` exists and is not empty and ``overwrite`` is false (checked
        first, and again when the finished folder is moved into place).
    """
    began = time.perf_counter()
    world = scenario.world()
    seed = scenario.seed if seed is None else seed
    n = scenario.replications if replications is None else replications
    job = make_job(
        world,
        scenario.sample,
        start=scenario.start,
        horizon_days=scenario.horizon_days,
        seed=seed,
        settings=scenario.settings(),
    )
    stages, commodities = chain_order(world, job.start)
    # Read the inputs' digests before anything is written (a missing file fails here).
    digests = provenance(
        name=scenario.name,
        command=command,
        seed=job.seed,
        replications=n,
        start=job.start,
        horizon_days=job.horizon_days,
        theta=job.theta,
        k=job.k,
        stages=stages,
        commodities=commodities,
        jobs=jobs,
        wall_seconds=0.0,
        scenario_files=scenario_files,
        world=world,
    )
    runs = replications_in_order(
        job, n, jobs=jobs, executor=executor, scheduler=scheduler, progress=progress
    )
    with ResultSink(folder, overwrite=overwrite, out=out) as sink:
        try:
            for item in runs:
                sink.add(item)
        finally:
            runs.close()
        wall = time.perf_counter() - began
        run = {
            **digests,
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "wall_seconds": wall,
        }
        summary, parameters, metrics = sink.finish(scenario.name, run)
    return Written(
        name=scenario.name,
        folder=Path(folder),
        seed=job.seed,
        replications=n,
        start=job.start,
        horizon_days=job.horizon_days,
        theta=job.theta,
        k=job.k,
        parameters=parameters,
        metrics=metrics,
        summary=summary,
        stages=stages,
        commodities=commodities,
        wall_seconds=wall,
        jobs=jobs,
    )
