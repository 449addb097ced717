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
| `actual` | float64 | output during the day (unit per day), or stock at its end (unit) |
| `baseline` | float64 | the same in the paired baseline run (`actual` is the actual run) |

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
| `format`, `format_version` | `"paxsim-results"`, `2` (1: no `trade`, `timeline`, `t0_day`) |
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

import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from sim.ensemble import SUMMARY_COLUMNS, Ensemble
from sim.errors import InputError
from sim.metrics import METRICS_VERSION
from sim.version import __version__
from sim.world import World

#: Version of the folder format written by :func:`write_results`.
FORMAT_VERSION = 2
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


# --- where a result folder may go -----------------------------------------------------

_NAME_FIX = "give a name of letters, digits, '_', '-' and '.' that does not start with '.'"


def result_folder(
    out: str | Path, name: str, *, where: str = "results", field: str = "name"
) -> Path:
    """Return ``out / name`` after checking that it is a folder directly in ``out``.

    ``name`` must be one path component that does not start with a dot (hidden
    siblings are this module's temporary folders), and ``out / name`` must resolve
    (``..`` and symbolic links followed) to a child of ``out`` resolved.

    Parameters
    ----------
    out : str or Path
        The folder of result folders (``--out``); it need not exist.
    name : str
        The scenario name (or a file name).
    where, field : str
        The file and field named in the error message.

    Returns
    -------
    Path
        ``Path(out) / name``.

    Raises
    ------
    InputError
        If ``name`` is not a plain name or would lead outside ``out``.
    """
    problem = _name_problem(name)
    if problem is None:
        root = Path(out).resolve()
        if (root / name).resolve().parent != root:
            problem = f"'{name}' leads outside {out} (a symbolic link)"
    if problem is not None:
        raise InputError(where, field, problem, _NAME_FIX)
    return Path(out) / name


def check_folder_name(name: str, *, where: str = "results", field: str = "name") -> None:
    """Check that ``name`` can be a folder directly in any folder (see :func:`result_folder`).

    Raises
    ------
    InputError
        If ``name`` is empty, ``.`` or ``..``, holds a path separator, starts with a dot
        or is longer than 255 bytes.
    """
    problem = _name_problem(name)
    if problem is not None:
        raise InputError(where, field, problem, _NAME_FIX)


def _name_problem(name: object) -> str | None:
    """Return what makes ``name`` unusable as a folder name in a folder, or None."""
    if not isinstance(name, str) or not name:
        return f"{name!r} is not a name"
    if name in (".", ".."):
        return f"'{name}' is not a folder name of its own (it would replace the folder)"
    separators = {"/", "\\", os.sep, os.altsep or "/", "\0"}
    if any(sep in name for sep in separators):
        return f"{name!r} holds a path separator, so it would write outside the folder"
    if name.startswith("."):
        return f"'{name}' starts with '.' (hidden names are paxsim's temporary folders)"
    if len(os.fsencode(name)) > 255:
        return "the name is longer than 255 bytes"
    return None


def _target(folder: Path, out: str | Path | None) -> Path:
    """Return the resolved path to write ``folder`` to, checked like :func:`result_folder`."""
    parent = Path(out) if out is not None else folder.parent
    where = str(folder)
    problem = _name_problem(folder.name)
    if problem is not None:
        raise InputError(where, "folder", problem, _NAME_FIX)
    root = parent.resolve()
    target = root / folder.name
    if out is not None and folder.parent.resolve() != root:
        raise InputError(where, "folder", f"is not a folder directly in {out}", _NAME_FIX)
    if target.resolve().parent != root:
        raise InputError(where, "folder", f"leads outside {parent} (a symbolic link)", _NAME_FIX)
    return target


# --- temporary siblings ---------------------------------------------------------------

#: Tag of this host in the names of temporary siblings (the pid in them is this host's).
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temporary(target: Path, kind: str) -> Path:
    """Return a fresh hidden sibling of ``target``: ``.<name>.<kind>-<host>-<pid>-<random>``."""
    tag = f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    return target.parent / f".{target.name}.{kind}-{tag}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (unknown counts as alive)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_temporaries(folder: str | Path, name: str) -> list[Path]:
    """Delete the hidden temporary siblings that dead writers of ``name`` left in ``folder``.

    A writer killed while writing (``SIGKILL``, power loss) leaves
    ``.<name>.partial-<host>-<pid>-<random>`` (or ``.old-``) behind. Those whose ``<host>``
    is this host and whose process ``<pid>`` no longer exists are deleted; a live
    concurrent writer's are kept. Temporaries of older paxsim versions
    (``.<name>.partial-<pid>-<random>``) count as this host's.

    Parameters
    ----------
    folder : str or Path
        The folder holding the result folders (``--out``).
    name : str
        The result folder's name (the scenario name).

    Returns
    -------
    list of Path
        The paths deleted.
    """
    pattern = re.compile(
        rf"\.{re.escape(name)}\.(?:partial|old)-(?:(?P<host>[0-9a-f]{{8}})-)?"
        rf"(?P<pid>[0-9]{{1,10}})-[0-9a-f]{{12}}"
    )
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or match["host"] not in (None, _HOST):
            continue
        pid = int(match["pid"])
        if pid <= 0 or _pid_alive(pid):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue
        except OSError:  # pragma: no cover - left for a later run
            continue
        removed.append(entry)
    return removed


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a text file in one step: a hidden temporary sibling, then a rename over it.

    Readers see the old file or the new one, never half of one. The temporary file
    follows the naming of :func:`remove_stale_temporaries`.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist).
    text : str
        Content, written as UTF-8.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    tmp = _temporary(path, "partial")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --- moving a finished folder into place ----------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool | None:
    """Swap the two paths atomically (Linux ``renameat2``).

    Returns True if swapped, None if ``b`` does not exist, False if this system or
    file system cannot swap.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc older than 2.28, musl
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.ENOENT:
        return None
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False  # pragma: no cover - depends on the file system
    raise OSError(code, os.strerror(code), str(b))


def _taken(err: OSError) -> bool:
    """Whether a rename failed because its target is an existing (non-empty) folder."""
    return err.errno in (errno.ENOTEMPTY, errno.EEXIST) or isinstance(err, FileExistsError)


def _move_into_place(tmp: Path, folder: Path, overwrite: bool = False) -> None:
    """Rename the finished folder ``tmp`` to ``folder``, atomically.

    The rename succeeds onto a missing or empty ``folder`` and fails onto a non-empty
    one, so two writers racing for ``folder`` cannot both succeed. With ``overwrite``
    an existing non-empty ``folder`` is swapped with ``tmp`` and then deleted: in one
    step on Linux, else through a hidden ``.old-`` sibling, moved back on failure.
    """
    for _ in range(10):
        try:
            os.rename(tmp, folder)
            return
        except OSError as err:
            if not _taken(err):
                raise
        if not overwrite:
            try:
                os.rmdir(folder)  # an empty folder (Windows does not rename onto one)
            except OSError:
                raise FileExistsError(
                    f"{folder} exists and is not empty (another run wrote it in the "
                    "meantime); pass overwrite=True to replace it"
                ) from None
            continue
        swapped = _exchange(tmp, folder)
        if swapped is True:
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the replaced folder
            return
        if swapped is None:
            continue  # folder vanished (another writer moving it): try the rename again
        old = _temporary(folder, "old")
        try:
            os.rename(folder, old)
        except FileNotFoundError:
            continue
        try:
            os.rename(tmp, folder)
        except BaseException as err:
            if isinstance(err, OSError) and _taken(err):
                shutil.rmtree(old, ignore_errors=True)  # another writer's folder replaced it
                continue
            try:
                os.rename(old, folder)
            except OSError:  # pragma: no cover - another writer's folder is in place
                shutil.rmtree(old, ignore_errors=True)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    raise FileExistsError(f"{folder} keeps being replaced by other runs; try again")


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
    target = _target(folder, out)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{folder} exists and is not a folder")
    if _is_nonempty_dir(target) and not overwrite:
        raise FileExistsError(
            f"{folder} exists and is not empty; pass overwrite=True to replace it"
        )
    # Everything that can fail on bad input happens before anything is written.
    inputs = [{"path": str(p), "sha256": sha256_file(p)} for p in scenario_files]
    tables = {name: sha256_table(table) for name, table in world.tables.items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent, target.name)
    tmp = _temporary(target, "partial")
    tmp.mkdir()
    try:
        _write_summary(ensemble.summary(), tmp / SUMMARY)
        _write_parquet(ensemble.replication_table(), tmp / REPLICATIONS)
        _write_parquet(ensemble.metrics, tmp / METRICS)
        _write_parquet(ensemble.series, tmp / SERIES)
        _write_parquet(ensemble.trade, tmp / TRADE)
        _write_parquet(ensemble.timeline, tmp / TIMELINE)
        files = {
            name: {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
            for name in (SUMMARY, REPLICATIONS, METRICS, SERIES, TRADE, TIMELINE)
        }
        run = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "paxsim_version": __version__,
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
            "stages": list(ensemble.stages),
            "commodities": list(ensemble.commodities),
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
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(target.parent)
    return folder


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
        out[name] = pd.read_parquet(folder / file, engine="pyarrow")
    out["run"] = run
    return out
