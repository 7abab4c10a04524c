"""End to end through main([...]): exit codes, the JSON contract, options."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from datascan._version import __version__
from datascan.cli import main
from datascan.codes import CODES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO_FAULTS = {"DS200": 3, "DS201": 7, "DS202": 9, "DS203": 13, "DS300": 17, "DS301": 19,
               "DS500": 21, "DS600": 23, "DS303": 25, "DS400": 27}


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("demo", ["demo_lmdb", "demo_leveldb"])
def test_demo_fixtures_report_each_planted_fault(capsys, demo):
    code, report = run_json(capsys, FIXTURES / demo, "--num-classes", "10", "--jobs", "1")
    assert code == 1
    found = {(f["code"], f["index"]) for f in report["findings"]}
    for fault, index in DEMO_FAULTS.items():
        assert (fault, index) in found, fault
    assert {f["index"] for f in report["findings"] if f["code"] in ("DS400", "DS401")} == {27, 29, 31}
    assert report["sources"][0]["records"] == 48
    assert report["sources"][0]["format"] == demo.split("_")[1]


def test_json_report_follows_the_contract(capsys):
    code, report = run_json(capsys, FIXTURES / "demo_lmdb", "--num-classes", "10")
    assert set(report) >= {"datascan", "sources", "findings", "summary"}
    assert set(report["sources"][0]) >= {"path", "format", "records", "encoding"}
    for f in report["findings"]:
        assert set(f) == {"code", "severity", "path", "key", "index", "message"}
        assert f["code"] in CODES and f["severity"] in ("error", "warning", "info")
    s = report["summary"]
    assert set(s) == {"records", "bad_records", "errors", "warnings", "by_code", "seconds"}
    assert s["records"] == 48
    assert s["errors"] == sum(f["severity"] == "error" for f in report["findings"])
    assert s["by_code"]["DS500"] == 1
    order = [(f["path"], f["index"]) for f in report["findings"]]
    assert order == sorted(order)


def test_clean_fixture_exits_0(capsys):
    code, report = run_json(capsys, FIXTURES / "demo_clean_lmdb", "--num-classes", "10")
    assert code == 0 and report["findings"] == [] and report["summary"]["records"] == 48


def test_fail_on_select_ignore_and_output(capsys, tmp_path):
    demo = str(FIXTURES / "demo_lmdb")
    assert main(["check", demo, "--select", "DS30", "--quiet", "--format", "json",
                 "--output", str(tmp_path / "r.json")]) == 1      # DS300 is an error
    report = json.loads((tmp_path / "r.json").read_text())
    assert {f["code"] for f in report["findings"]} == {"DS300", "DS301", "DS303"}
    assert capsys.readouterr().out == ""
    assert main(["check", demo, "--select", "DS301,DS303", "--quiet"]) == 0   # warnings only
    assert main(["check", demo, "--select", "DS301,DS303", "--fail-on", "warning", "--quiet"]) == 1
    capsys.readouterr()
    code, report = run_json(capsys, demo, "--ignore", "DS2,DS4,DS5,DS6,DS3")
    assert code == 0 and report["findings"] == []


def test_text_report_names_records_and_quotes_caffe(capsys):
    assert main(["check", str(FIXTURES / "demo_lmdb"), "--num-classes", "10", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert f"{FIXTURES / 'demo_lmdb'}:00000017_img_017.jpg:#17: DS300 error " in out
    assert "Incorrect data field size" in out and "What to do" in out


def test_storage_format_flag_overrides_detection(capsys):
    code, report = run_json(capsys, FIXTURES / "demo_clean_lmdb", "--source-format", "lmdb")
    assert code == 0 and report["sources"][0]["format"] == "lmdb"
    assert capsys.readouterr().err == ""
    demo = str(FIXTURES / "demo_clean_lmdb")
    assert main(["check", demo, "--source-format", "leveldb", "--quiet"]) == 2
    assert main(["check", demo, "--source-format", "xml", "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "LevelDB" in err[0] and "invalid choice: 'xml'" in err[1]


DEPRECATED = ("datascan: warning: --format {0} names a storage format; use --source-format {0} "
              "(--format will mean only the report format)")


@pytest.mark.parametrize("storage, code", [("lmdb", 0), ("leveldb", 2)])
def test_format_naming_storage_still_works_with_one_warning_line(capsys, storage, code):
    demo = str(FIXTURES / "demo_clean_lmdb")
    args = ["--quiet", "--no-cache"]      # each spelling scans: the same verdict, not a remembered one
    assert main(["check", demo, "--source-format", storage, "--format", "json", *args]) == code
    new = capsys.readouterr()
    assert main(["check", demo, "--format", storage, "--format", "json", *args]) == code
    old = capsys.readouterr()
    assert main(["check", demo, f"--format={storage}", *args]) == code
    text = capsys.readouterr()
    assert old.out.replace(_seconds(old.out), "") == new.out.replace(_seconds(new.out), "")
    # one line more than --source-format gives: the warning (the error, if any, follows it)
    assert old.err.splitlines()[0] == DEPRECATED.format(storage)
    assert len(old.err.splitlines()) == 1 + len(new.err.splitlines()) == 1 + (code == 2)
    assert text.err.splitlines()[0] == DEPRECATED.format(storage)
    assert (code == 0) == text.out.startswith(f"{demo}: lmdb, 48 records")


def _seconds(out: str) -> str:
    return next((line for line in out.splitlines() if '"seconds"' in line), "")


def test_format_json_is_the_report_only(capsys):
    demo = str(FIXTURES / "demo_clean_lmdb")
    for spelling in (["--format", "json"], ["--format=json"]):
        assert main(["check", demo, *spelling, "--quiet"]) == 0
        out = capsys.readouterr()
        assert out.err == "" and json.loads(out.out)["sources"][0]["format"] == "lmdb"
    assert main(["check", demo, "--format", "text", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"{demo}: lmdb, 48 records")
    assert main(["check", demo, "--format", "xml", "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["datascan: error: argument --format: invalid choice: 'xml' "
                   "(choose from text, json, html)"]


def test_bad_usage_is_exit_2_one_line(capsys):
    assert main(["check", "--jobs", "x", "somewhere"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["check"]) == 2


@pytest.mark.parametrize("args, says", [
    (["--jobs", "-1"], "--jobs"),
    (["--jobs", "0"], "--jobs"),
    (["--num-classes", "0"], "--num-classes"),
    (["--select", "XX"], "matches no finding code"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--backend dask"),
    (["--output", "/nonexistent/dir/r.json"], "cannot write"),
    (["--source-format", "leveldb"], "LevelDB"),
    (["--select", "DS99"], f"({min(CODES)}..{max(CODES)})"),
])
def test_options_that_cannot_be_meant_are_one_line_exit_2(capsys, args, says):
    assert main(["check", str(FIXTURES / "demo_lmdb"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_empty_data_mdb_is_a_truncation_finding(tmp_path, capsys):
    (tmp_path / "half_lmdb").mkdir()
    (tmp_path / "half_lmdb" / "data.mdb").write_bytes(b"")
    code, report = run_json(capsys, tmp_path / "half_lmdb")
    assert code == 1 and [f["code"] for f in report["findings"]] == ["DS102"]


def test_the_same_dataset_named_twice_is_scanned_once(capsys):
    demo = FIXTURES / "demo_clean_lmdb"
    code, report = run_json(capsys, demo, f"{demo}/")
    assert code == 0 and len(report["sources"]) == 1 and report["summary"]["records"] == 48


HEAVY = ("numpy", "h5py", "lmdb", "plyvel", "google.protobuf", "joblib", "tqdm", "PIL", "dask",
         "distributed", "datascan.forward", "datascan.scan", "datascan.clean", "datascan.engine",
         "datascan.sources.lmdb", "datascan.report.json", "multiprocessing", "hashlib", "json",
         # and nothing of what makes a module slow to define (a frozen dataclass: ~1 ms each)
         "dataclasses", "typing", "datascan.codes", "datascan.model", "datascan.report", "datascan.doctor.engine")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["check", "--help"]])
def test_version_and_help_import_nothing_heavy(argv):
    """`import datascan.cli`, `--version` and `--help` load no storage library, numpy,
    protobuf, joblib, dask, the forward engine, not even a format module or a renderer."""
    probe = ("import sys, datascan.cli\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
             f"assert datascan.cli.main({argv!r}) == 0\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == lines[-1] == ""
    assert (lines[1] == f"datascan {__version__}") == (argv == ["--version"])


def test_the_console_script_answers_version_before_importing_the_cli():
    """`datascan --version` (the console script's entry, datascan.console) prints what the
    CLI's parser prints for it, without loading argparse or the CLI; any other argv goes
    to cli.main."""
    probe = ("import sys\nfrom datascan.console import main\nsys.argv = ['datascan'] + sys.argv[1:]\n"
             "code = main()\nprint(code, [m for m in ('argparse', 'datascan.cli', 'datascan.exits') "
             "if m in sys.modules])")
    root = Path(__file__).resolve().parents[1]
    fast = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True,
                          cwd=root, check=True).stdout.splitlines()
    assert fast == [f"datascan {__version__}", "0 []"]
    slow = subprocess.run([sys.executable, "-c", "from datascan.cli import main; main(['--version'])"],
                          capture_output=True, text=True, cwd=root, check=True).stdout.splitlines()
    assert slow == fast[:1]
    other = subprocess.run([sys.executable, "-c", probe, "--version", "--help"], capture_output=True,
                           text=True, cwd=root, check=True).stdout.splitlines()
    assert other[-1] == "0 ['argparse', 'datascan.cli', 'datascan.exits']"
    module = subprocess.run([sys.executable, "-m", "datascan", "--version"], capture_output=True,
                            text=True, cwd=root, check=True)
    assert module.stdout == f"datascan {__version__}\n"


def test_a_tiny_lmdb_scan_loads_only_what_it_reads(make_lmdb, tmp_path):
    """A raw-Datum LMDB scan loads numpy, lmdb and protobuf's C core, not: plyvel (the
    LevelDB sniff is not asked), h5py, the schema compiler and pure-Python protobuf
    (descriptor_pb2, descriptor_pool, text_format), the doctor's and lint's rules, joblib,
    dask, the forward engine, the cache (--no-cache), a process pool (its pages were
    validated while planning: it is read in process) or dataclasses."""
    from conftest import key, raw_datum
    path = make_lmdb([(key(i), raw_datum(i % 3, seed=i)) for i in range(5)])
    heavy = ("plyvel", "h5py", "google.protobuf.descriptor_pb2", "google.protobuf.descriptor_pool",
             "google.protobuf.text_format", "google.protobuf.internal.python_message",
             "datascan.doctor.rules", "datascan.caffe.lint", "joblib", "dask", "distributed",
             "datascan.forward", "datascan.cache", "hashlib", "multiprocessing", "datascan.pool",
             "dataclasses",    # its classes are datascan.structs': ~4 M instructions less each
             "json")           # only a report in JSON or findings spilled to disk need it
    probe = ("import sys\nfrom datascan.cli import main\n"
             f"code = main(['check', {str(path)!r}, '--quiet', '--no-cache', '--num-classes', '3'])\n"
             f"print(code, [m for m in {heavy!r} if m in sys.modules], "
             "all(m in sys.modules for m in ('numpy', 'lmdb', 'google._upb._message')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.splitlines()[-1]
    assert out == "0 [] True"


@pytest.mark.parametrize("command", ["", "check", "clean", "report", "show", "explain", "doctor", "mean"])
def test_a_parser_built_for_one_command_helps_as_the_whole_one(command):
    """main() builds only the arguments of the command that runs: every help reads the same."""
    from datascan.cli import build_parser
    whole, only = build_parser(), build_parser(command)
    assert only.format_help() == whole.format_help()
    sub = next(a for a in whole._actions if isinstance(a, argparse._SubParsersAction))
    mine = next(a for a in only._actions if isinstance(a, argparse._SubParsersAction))
    assert list(mine.choices) == list(sub.choices)
    if command:
        assert mine.choices[command].format_help() == sub.choices[command].format_help()


def test_version_to_a_closed_pipe_ends_as_the_clis_parser_ends_it():
    """`datascan --version | true` with unbuffered output (PYTHONUNBUFFERED, as CI sets):
    argparse's version action drops the write error and the CLI returns 0; the console
    entry's own print must end the same way, not with a traceback and exit 1 (findings)."""
    import os
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    outcomes = []
    for code in ("import sys; from datascan.console import main; sys.argv = ['datascan', '--version']; "
                 "sys.exit(main())",
                 "import sys; from datascan.cli import main; sys.exit(main(['--version']))"):
        read, write = os.pipe()
        os.close(read)                  # the reader is gone before anything is written
        try:
            done = subprocess.run([sys.executable, "-c", code], stdout=write, stderr=subprocess.PIPE,
                                  text=True, cwd=root, env=env)
        finally:
            os.close(write)
        outcomes.append((done.returncode, done.stderr))
    assert outcomes[0] == outcomes[1] == (0, "")
