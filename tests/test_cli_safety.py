"""The command line against hostile and careless use: one line and exit 2, nothing half done.

Every refusal is one line on stderr (``error: <where>: <field>: <problem>; fix: <fix>``),
exit code 2, no traceback, and it comes before the first replication.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim import cli, ensemble, sink
from sim.cli import BUNDLED, app
from sim.memory import streamed_peak_bytes
from sim.scenario import MAX_REPLICATIONS, MAX_SEED, load_scenario

runner = CliRunner()

BAN = BUNDLED / "example_ban.yaml"
LICENCE = BUNDLED / "example_licence.yaml"


def one_line(result: object, *needles: str) -> str:
    """Assert exit code 2 and exactly one non-empty line on stderr holding ``needles``."""
    assert result.exit_code == 2, (result.exit_code, result.output)  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("error: ") and "; fix: " in line, line
    assert "Traceback" not in result.output and "╭" not in stderr  # type: ignore[attr-defined]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


@pytest.fixture
def no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any replication runs (refusals must come first)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a replication ran before the refusal")

    monkeypatch.setattr(cli, "write_scenario", refuse)


# --- options and arguments -------------------------------------------------------------


OPTION_ERRORS = [
    (["run"], "SCENARIOS"),
    (["run", "--bogus", str(BAN)], "--bogus"),
    (["run", str(BAN), "--replicatoins", "3"], "--replications"),
    (["run", str(BAN), "--replications", "0"], "--replications"),
    (["run", str(BAN), "--replications", "many"], "--replications"),
    (["run", str(BAN), "--replications", str(MAX_REPLICATIONS + 1)], "--replications"),
    (["run", str(BAN), "--seed", "-1"], "--seed"),
    (["run", str(BAN), "--seed", str(MAX_SEED)], "--seed"),
    (["run", str(BAN), "--seed"], "--seed"),
    (["run", str(BAN), "--jobs", "0"], "--jobs"),
    (["compare", str(BAN), str(LICENCE), "--seed", "-1"], "--seed"),
    (["compare", str(BAN), str(LICENCE), "--replications", "-3"], "--replications"),
    (["validate"], "SCENARIOS"),
    (["example", "--seed", "-1"], "--seed"),
    (["example", "--ban-days", "0"], "--ban-days"),
    (["example", "--horizon-days", "100000000"], "--horizon-days"),
    (["replay", str(BAN), "--replication", "-1"], "--replication"),
    (["replay"], "SCENARIO_FILE"),
    (["bogus"], "bogus"),
    (["--bogus"], "--bogus"),
]


@pytest.mark.parametrize(
    ("args", "field"), OPTION_ERRORS, ids=[" ".join(a) for a, _ in OPTION_ERRORS]
)
def test_every_option_error_is_one_line_and_exit_2(
    args: list[str], field: str, tmp_path: Path, no_runs: None
) -> None:
    if args[0] in ("run", "compare") and len(args) > 1:
        args = [*args, "--out", str(tmp_path)]
    one_line(runner.invoke(app, args), field)


def test_the_largest_seed_runs(tmp_path: Path) -> None:
    assert ensemble.MAX_SEED == MAX_SEED  # the library and scenario files agree
    seed = str(MAX_SEED - 1)
    example = runner.invoke(app, ["example", "--seed", seed, "--horizon-days", "200"])
    assert example.exit_code == 0, example.output
    args = ["run", str(BAN), "--replications", "1", "--seed", seed, "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "ndpr_ban" / "run.json").read_text())["seed"] == MAX_SEED - 1


def test_replay_options_are_checked_against_the_scenario(no_runs: None) -> None:
    replications = load_scenario(BAN).replications
    wrong = ["replay", str(BAN), "--replication", str(replications)]
    one_line(runner.invoke(app, wrong), "--replication", f"from 0 to {replications - 1}")
    huge = runner.invoke(app, ["replay", str(BAN), "--replication", "999999"])
    one_line(huge, "--replication")
    commodity = runner.invoke(app, ["replay", str(BAN), "--commodity", "nonexistent"])
    line = one_line(commodity, "--commodity", "nonexistent")
    assert "origin" not in line
    one_line(runner.invoke(app, ["replay", str(BAN), "--origin", "XXX"]), "--origin", "XXX")
    one_line(runner.invoke(app, ["replay", str(BAN), "--by", "region"]), "--by")
    # A known country that exports nothing of a known commodity.
    args = ["replay", str(BAN), "--origin", "JPN", "--commodity", "ndpr_oxide"]
    one_line(runner.invoke(app, args), "--origin", "JPN")


def test_dictionary_out_errors_are_one_line(tmp_path: Path) -> None:
    one_line(
        runner.invoke(app, ["dictionary", "--out", str(tmp_path / "missing" / "x.md")]), "--out"
    )
    one_line(runner.invoke(app, ["dictionary", "--out", str(tmp_path)]), "--out")
    target = tmp_path / "README.md"
    result = runner.invoke(app, ["dictionary", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("#")
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary file left


def test_list_shows_every_file_and_exits_2_if_any_is_invalid(tmp_path: Path) -> None:
    shutil.copy(BAN, tmp_path / "a_ban.yaml")
    (tmp_path / "b_typo.yaml").write_text(BAN.read_text().replace("horizon_days:", "horizon_dayz:"))
    shutil.copy(LICENCE, tmp_path / "c_licence.yaml")
    shutil.copy(BAN, tmp_path / "example_ban.yaml")  # the base c_licence extends
    result = runner.invoke(app, ["list", "--dir", str(tmp_path)])
    one_line(result, "--dir", "1 of 4")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "a_ban.yaml",
        "b_typo.yaml",
        "c_licence.yaml",
        "example_ban.yaml",
    ]
    assert "INVALID" in lines[1] and "horizon_dayz" in lines[1]
    assert all("INVALID" not in line for line in lines[:1] + lines[2:])
    good = runner.invoke(app, ["list"])
    assert good.exit_code == 0 and good.stderr == ""


# --- --out -------------------------------------------------------------------------------


def test_out_that_is_a_file_is_refused_before_running(tmp_path: Path, no_runs: None) -> None:
    afile = tmp_path / "results"
    afile.write_text("not a folder")
    one_line(runner.invoke(app, ["run", str(BAN), "--out", str(afile)]), "--out", str(afile))
    one_line(runner.invoke(app, ["run", str(BAN), "--out", os.devnull]), "--out", os.devnull)
    below_a_file = afile / "sub"
    line = one_line(runner.invoke(app, ["run", str(BAN), "--out", str(below_a_file)]), "--out")
    assert "cannot be created" in line
    args = ["compare", str(BAN), str(LICENCE), "--out", str(afile)]
    one_line(runner.invoke(app, args), "--out")
    assert afile.read_text() == "not a folder"


def test_read_only_out_is_refused_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_runs: None
) -> None:
    out = tmp_path / "read_only"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:
        # root writes into a 0o555 folder anyway: make the probe fail as it does for users.
        def denied(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(cli.tempfile, "mkstemp", denied)
    try:
        line = one_line(runner.invoke(app, ["run", str(BAN), "--out", str(out)]), "--out")
        assert "not writable" in line and "Permission denied" in line
    finally:
        out.chmod(0o755)
    assert list(out.iterdir()) == []


def test_a_second_run_fails_at_once_naming_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["run", str(BAN), "--replications", "2", "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    before = (tmp_path / "ndpr_ban" / "run.json").read_text()
    with monkeypatch.context() as patch:
        patch.setattr(cli, "write_scenario", lambda *a, **k: pytest.fail("ran before refusing"))
        line = one_line(runner.invoke(app, args), "--overwrite", "ndpr_ban")
        assert "overwrite=True" not in line
        compare = ["compare", str(BAN), str(LICENCE), "--replications", "2", "--out", str(tmp_path)]
        one_line(runner.invoke(app, compare), "--overwrite")
    assert (tmp_path / "ndpr_ban" / "run.json").read_text() == before
    again = runner.invoke(app, [*args, "--overwrite"])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "ndpr_ban" / "run.json").read_text())["replications"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ndpr_ban"]


def test_a_result_folder_written_meanwhile_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another run writes the folder while this one computes: this one fails in one line.
    real = sink.replications_in_order

    def run_and_race(*args: object, **kwargs: object) -> Iterator[object]:
        yield from real(*args, **kwargs)  # type: ignore[arg-type]
        (tmp_path / "ndpr_ban").mkdir()
        (tmp_path / "ndpr_ban" / "run.json").write_text("the other run's\n")

    monkeypatch.setattr(sink, "replications_in_order", run_and_race)
    result = runner.invoke(app, ["run", str(BAN), "--replications", "1", "--out", str(tmp_path)])
    one_line(result, "--overwrite", "another run")
    assert (tmp_path / "ndpr_ban" / "run.json").read_text() == "the other run's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ndpr_ban"]


def test_compare_refuses_unpaired_inputs_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["run", str(BAN), "--replications", "2", "--seed", "1", "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    monkeypatch.setattr(cli, "write_scenario", lambda *a, **k: pytest.fail("ran before refusing"))
    folder = str(tmp_path / "ndpr_ban")
    other = ["compare", folder, str(LICENCE), "--replications", "2", "--seed", "2"]
    one_line(runner.invoke(app, [*other, "--out", str(tmp_path)]), "same --seed")
    fewer = ["compare", folder, str(LICENCE), "--replications", "3", "--seed", "1"]
    one_line(runner.invoke(app, [*fewer, "--out", str(tmp_path)]), "--replications")
    (tmp_path / "compare-ndpr_ban-vs-ndpr_licence.csv").mkdir()
    paired = ["compare", folder, str(LICENCE), "--replications", "2", "--seed", "1"]
    one_line(runner.invoke(app, [*paired, "--out", str(tmp_path)]), "not a file")
    broken = tmp_path / "broken"
    broken.mkdir()
    one_line(runner.invoke(app, ["compare", folder, str(broken)]), "not a complete")


# --- the same scenario twice ----------------------------------------------------------------


def test_the_same_scenario_twice_is_refused_up_front(tmp_path: Path, no_runs: None) -> None:
    out = str(tmp_path / "out")
    one_line(runner.invoke(app, ["run", str(BAN), str(BAN), "--out", out]), "twice")
    copy = tmp_path / "copy.yaml"
    copy.write_text(BAN.read_text())
    line = one_line(runner.invoke(app, ["run", str(BAN), str(copy), "--out", out]), "name")
    assert "copy.yaml" in line and "ndpr_ban" in line
    one_line(runner.invoke(app, ["compare", str(BAN), str(BAN), "--out", out]), "twice")
    one_line(runner.invoke(app, ["validate", str(BAN), str(copy)]), "name", "ndpr_ban")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# --- names that would write outside --out -----------------------------------------------------


@pytest.mark.parametrize("name", ["../x", ".", "..", "a/../../x", "/absolute/x", ".hidden"])
def test_a_scenario_name_cannot_reach_outside_out(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_runs: None
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("inside")
    sibling = tmp_path / "x"
    sibling.mkdir()
    (sibling / "precious.txt").write_text("outside")
    # Bypass the load-time name validation, as a hostile or older scenario might.
    scenario = load_scenario(BAN).model_copy(update={"name": name})
    monkeypatch.setattr(cli, "load_scenario", lambda path: scenario)
    for args in (["run", str(BAN)], ["compare", str(BAN), str(LICENCE)]):
        result = runner.invoke(app, [*args, "--out", str(out), "--overwrite"])
        one_line(result, "name")
    validate = runner.invoke(app, ["validate", str(BAN)])
    one_line(validate, "name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "x"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in sibling.iterdir()] == ["precious.txt"]
    assert (sibling / "precious.txt").read_text() == "outside"


# --- memory --------------------------------------------------------------------------------


def test_runs_that_do_not_fit_in_memory_are_refused_by_run_and_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit, how = cli._memory_limit()  # a share of this machine's memory
    assert limit > 0 and "memory" in how
    scenario = load_scenario(BAN)
    world, start, horizon = scenario.world(), scenario.start, scenario.horizon_days

    def peak(reps: int, jobs: int = 1) -> int:
        return streamed_peak_bytes(
            world, start=start, horizon_days=horizon, replications=reps, jobs=jobs
        )

    # Streamed results: 100,000 replications need ~2.8 GB (what the end of the run reads
    # back: 29 bytes per metric row and 128 per world and bloc row, per replication), not
    # the ~400 GB their tables would take in memory.
    assert 2.7e9 < peak(MAX_REPLICATIONS) < 2.9e9
    args = ["run", str(BAN), "--replications", str(MAX_REPLICATIONS), "--out", str(tmp_path)]
    monkeypatch.setattr(cli, "_memory_limit", lambda: (500_000_000, "a test limit"))
    huge = runner.invoke(app, args)
    one_line(huge, "--replications", f"{MAX_REPLICATIONS} replications", "memory", "500 MB")
    assert list(tmp_path.iterdir()) == []
    # A limit between the peaks of 2 and of 20 replications: the scenario's own 20 do
    # not fit, fewer do.
    small = (peak(2) + peak(20)) // 2
    monkeypatch.setattr(cli, "_memory_limit", lambda: (small, "a test limit"))
    line = one_line(runner.invoke(app, ["validate", str(BAN)]), "replications", "MB")
    assert "replications:" in line.split("fix:")[1]
    line = one_line(runner.invoke(app, ["run", str(BAN), "--out", str(tmp_path)]), "MB")
    fits = int(line.split("give --replications ")[1].split()[0])
    assert 2 <= fits < 20 and peak(fits) <= small < peak(fits + 1)
    args = ["run", str(BAN), "--replications", str(fits), "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    jobs = runner.invoke(app, ["run", str(BAN), "--jobs", "200", "--out", str(tmp_path / "j")])
    one_line(jobs, "memory", "--jobs")


# --- worker processes ----------------------------------------------------------------------


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has exited


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (ppid := _ppid(int(entry.name))) is not None:
            parents[int(entry.name)] = ppid
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= frontier
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes in /proc")
def test_workers_die_when_the_main_process_is_killed(tmp_path: Path) -> None:
    # One replication of this scenario keeps a worker busy for about 15 s: a worker that
    # only noticed the dead parent between replications would outlive the deadline.
    long = tmp_path / "long.yaml"
    text = BAN.read_text().replace("horizon_days: 1095", "horizon_days: 36500")
    long.write_text(text + "settings: {review_days: 1}\n")
    command = [sys.executable, "-c", "from sim.cli import app; app()", "run", str(long)]
    command += ["--replications", "2", "--jobs", "2", "--out", str(tmp_path / "out")]
    main = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = _descendants(main.pid)
            # Under forkserver the workers are the forkserver's children.
            workers = {p for p in seen if _ppid(p) != main.pid}
            if len(workers) >= 2 and main.poll() is None:
                break
            time.sleep(0.05)
        assert len(workers) >= 2, f"no workers started ({seen})"
        time.sleep(1.0)  # let them get to work
        seen = _descendants(main.pid)
        main.send_signal(signal.SIGKILL)
        main.wait(timeout=10)
        # 10 s: time for the kernel's death signal or the watchdog on a loaded machine
        # (the tests run two at a time), still less than one replication takes.
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in seen if _alive(p)], "worker processes outlived the main process"
    finally:
        main.kill()
        main.wait(timeout=10)
        for pid in seen:  # only the processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
