"""Result folders on disk: names, temporary siblings, atomic moves and file digests.

The mechanics behind :func:`sim.results.write_results` and :class:`sim.sink.ResultSink`:
a result folder is built in a hidden temporary sibling
(``.<name>.partial-<host>-<pid>-<random>``) and moved into place once complete
(:func:`move_into_place`); :func:`result_folder` checks where a folder may go and
:func:`remove_stale_temporaries` deletes what killed runs left behind. See
:mod:`sim.results` for the guarantees and the folder format.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import socket
import sys
import uuid
from pathlib import Path

import pandas as pd

from sim.errors import InputError


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


def fsync_path(path: Path) -> None:
    """Flush a file or folder to disk (where the file system allows it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def is_nonempty_dir(folder: Path) -> bool:
    """Whether ``folder`` is a folder with something in it."""
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


def checked_target(folder: Path, out: str | Path | None) -> Path:
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


def temporary_sibling(target: Path, kind: str) -> Path:
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
    tmp = temporary_sibling(path, "partial")
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


def move_into_place(tmp: Path, folder: Path, overwrite: bool = False) -> None:
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
        old = temporary_sibling(folder, "old")
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
