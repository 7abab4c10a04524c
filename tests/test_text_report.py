"""The terminal report: greppable lines, folded repeats, per-code limits, summaries per
source and per value, keys as text, plurals, colour only on a terminal."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datascan.cli import main
from datascan.model import Finding, LabelStats, Report, Severity, SourceInfo
from datascan.report import View, text

ROOT = Path(__file__).resolve().parents[1]


def finding(i: int, code="DS500", message=None, path="train_lmdb", key_text=None, sev=Severity.ERROR):
    return Finding(code, sev, path, key_text if key_text is not None else f"{i:08d}", i,
                   message or "label 12 outside [0, 10)")


def report(findings, records=5000, labels=None, path="train_lmdb"):
    return Report("0.1.0", (SourceInfo(path, "lmdb", records, "datum", labels),),
                  tuple(findings), 1.0)


def test_one_greppable_line_per_finding():
    out = text.render(report([finding(7, "DS300", "2 NaN values in data")]))
    assert "train_lmdb:00000007:#7: DS300 error 2 NaN values in data" in out.splitlines()
    hdf5 = Finding("DS300", Severity.ERROR, "a.h5", None, 3, "1 NaN in data")
    assert "a.h5:#3: DS300 error 1 NaN in data" in text.render(report([hdf5])).splitlines()


def test_identical_messages_fold_with_a_count_and_each_code_is_limited():
    same = [finding(i, "DS403", "16-bit PNG", sev=Severity.WARNING) for i in range(14)]
    out = text.render(report(same))
    assert out.count("16-bit PNG") == 2        # one line, and the value summary
    assert "(and 13 more findings with this message)" in out
    many = [finding(i, "DS300", f"{i} NaN values") for i in range(30)]
    lines = text.render(report(many), View(max_findings=5)).splitlines()
    assert sum(x.startswith("train_lmdb:000") for x in lines) == 5
    assert "... 25 more DS300 findings not shown (--max-findings N shows N per code, " \
           "--all every one)" in lines
    assert sum(x.startswith("train_lmdb:000") for x in text.render(
        report(many), View(max_findings=None)).splitlines()) == 30


def test_summary_per_value_and_a_doubtful_num_classes():
    out = text.render(report([finding(i) for i in range(5000)]))
    assert "label 12 \u00d7 5,000" in out
    labels = LabelStats(0, 55, 56, {i: 1 for i in range(56)})
    every = [finding(i, message=f"label {i % 56} outside [0, 2)") for i in range(400)]
    out = text.render(report(every, records=400, labels=labels), View(num_classes=2))
    assert "400/400 records of this set are out of range: labels 0..55 \u2014 is " \
           "--num-classes 2 right for it?" in out
    assert "is --num-classes" not in text.render(report([finding(1)], labels=labels))


def test_keys_show_as_text_with_only_what_needs_escaping():
    gbk = finding(0, key_text="hex:" + b"00000000_\xd6\xd0.jpg".hex())
    newline = finding(1, key_text="a\nb\x1bc", message="label 13 outside [0, 10)")
    lines = text.render(report([gbk, newline])).splitlines()
    assert "train_lmdb:00000000_\\xd6\\xd0.jpg:#0: DS500 error label 12 outside [0, 10)" in lines
    assert "train_lmdb:a\\nb\\x1bc:#1: DS500 error label 13 outside [0, 10)" in lines


def test_plurals_and_counts_never_mix_records_and_findings():
    one = text.render(report([finding(1)], records=1))
    assert "1 bad record of 1; 1 finding: 1 error, 0 warnings, 0 info" in one
    info = Finding("DS302", Severity.INFO, "train_lmdb", "00000001", 1, "would overflow float16")
    out = text.render(report([info], records=2))
    assert "0 bad records of 2; 1 finding: 0 errors, 0 warnings, 1 info" in out
    assert "1 records" not in one and "1 findings" not in one and "1 warnings" not in out


def test_datascan_alone_prints_usage_and_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: datascan") and "check" in err and "report" in err


def test_colour_on_a_terminal_only(capsys):
    demo = str(ROOT / "fixtures" / "demo_lmdb")
    assert main(["check", demo, "--num-classes", "10", "-q"]) == 1
    assert "\x1b[" not in capsys.readouterr().out          # captured: not a terminal
    script = ("import pty, os, sys\n"
              "pid, fd = pty.fork()\n"
              "if pid == 0:\n"
              "    os.execv(sys.executable, [sys.executable, '-m', 'datascan', 'check', "
              f"{demo!r}, '--num-classes', '10', '-q'])\n"
              "out = b''\n"
              "while True:\n"
              "    try:\n        chunk = os.read(fd, 65536)\n    except OSError:\n        break\n"
              "    if not chunk:\n        break\n    out += chunk\n"
              "sys.stdout.write(repr(out))\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    painted = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, cwd=ROOT).stdout
    assert "\\x1b[31m" in painted
    plain = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env={**env, "NO_COLOR": "1"}, cwd=ROOT).stdout
    assert "\\x1b[" not in plain and "DS300" in plain


def test_max_findings_on_the_command_line(capsys):
    demo = str(ROOT / "fixtures" / "demo_lmdb")
    assert main(["check", demo, "--num-classes", "10", "-q", "--max-findings", "0"]) == 1
    out = capsys.readouterr().out
    assert ": DS300 error" not in out and "1 more DS300 finding not shown" in out
    assert main(["check", demo, "-q", "--max-findings", "-1"]) == 2
    assert main(["check", demo, "--num-classes", "10", "-q", "--all"]) == 1
