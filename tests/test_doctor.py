"""datascan doctor on the real logs (verdict, iteration, layer as PROVENANCE.md and MANIFEST.md
say), and on synthetic logs for what they lack: every diagnosis code, restarts, cuts, gzip,
stdin, 10^6 iterations in bounded memory."""
from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import psutil
import pytest

from datascan import doctor
from datascan.cli import main
from datascan.doctor.caffe_glog import events, number, split_prefix
from datascan.doctor import events as ev
from datascan.doctor.events import Debug, Fatal, LearningRate, Loss, Output, RunStart
from datascan.doctor.facts import RunFacts
from datascan.doctor.series import MAX_POINTS

from conftest import realdata
from doctor_logs import glog, healthy_debug, iteration, start

ROOT = Path(__file__).resolve().parents[1]

# (log, verdict, iteration of the decisive finding, its layer, its code)
CAFFE_REF = [
    ("train_hdf5_main.log", "nan", 2, "data", "DS800"),
    ("train_hdf5_only_nan.log", "nan", 2, "data", "DS800"),
    ("train_avepool_10x10.log", "nan", 0, "pool", "DS800"),
    ("train_hdf5_clean.log", "healthy", None, None, None),
    ("train_hdf5_only_label12_mid.log", "healthy", None, None, None),
    ("train_avepool_8x8.log", "healthy", None, None, None),
    ("train_poly_maxiter8.log", "healthy", None, None, None),
    ("train_lmdb.log", "healthy", None, None, None),
    ("train_hdf5_only_label12_last.log", "crashed", 0, None, "DS809"),
    ("train_hdf5_only_label12_last.rerun1.log", "crashed", 0, None, "DS809"),
    ("train_hdf5_only_label12_last.rerun2.log", "crashed", 0, None, "DS809"),
    ("train_hdf5_only_label12_last.rerun3.log", "crashed", 0, None, "DS809"),
    ("train_lmdb_encoded.log", "crashed", None, None, "DS809"),
    ("train_poly_no_maxiter.log", "not_training", 0, None, "DS804"),
]
PUBLIC = [
    ("shangzw12_ssd_finetune_grow_nan.log", "nan", 50, "mbox_loss", "DS800"),
    ("jirenjin_googlenet_87_loss3_resumed.log", "stuck", 24040, "loss3/loss3", "DS805"),
    ("ducha_caffenet_rmsprop095_lr001.log", "diverging", 40, "loss", "DS811"),
    ("ducha_caffenet_adam_lr001_spike_chance.log", "stuck", None, None, "DS806"),
    ("ducha_caffenet_adadelta_chance_then_crash.log", "stuck", 20, None, "DS806"),
    ("yihui_resnet20_2016_healthy.log", "healthy", None, None, None),
    ("akompaniyets_digits_caffe_output.log", "healthy", None, None, None),
    ("cooparation_ssd_weights_missing_crash.log", "crashed", None, None, "DS809"),
    ("honorpeter_ssd_resume_history_crash.log", "crashed", None, None, "DS809"),
]


def _check(report, verdict, iteration, layer, code):
    assert report.verdict == verdict, report.headline
    errors = [f for f in report.findings if f.severity.rank >= 1 and f.code.startswith("DS8")]
    if code is None:
        assert errors == [], errors
        return
    hit = [f for f in report.findings if f.code == code]
    assert hit, [f.code for f in report.findings]
    if iteration is not None:
        assert any(f.iteration == iteration for f in hit), hit
    if layer is not None:
        assert any(f.layer == layer for f in hit), hit


@pytest.mark.parametrize("name,verdict,iteration,layer,code", CAFFE_REF)
def test_caffe_ref_logs(name, verdict, iteration, layer, code):
    report = doctor(realdata("caffe-ref", "train", "logs", name), data=False)
    _check(report, verdict, iteration, layer, code)


@pytest.mark.parametrize("name,verdict,iteration,layer,code", PUBLIC)
def test_public_logs(name, verdict, iteration, layer, code):
    report = doctor(realdata("logs", name))
    _check(report, verdict, iteration, layer, code)


def test_first_nonfinite_names_iteration_phase_layer_blob_and_line():
    log = realdata("caffe-ref", "train", "logs", "train_hdf5_main.log")
    first = doctor(log, data=False).first_nonfinite
    assert (first.iteration, first.phase, first.layer, first.blob) == (2, "forward", "data",
                                                                       "top data data")
    assert "[Forward] Layer data, top blob data data: nan" in \
        log.read_text().splitlines()[first.line - 1]
    pool = doctor(realdata("caffe-ref", "train", "logs", "train_avepool_10x10.log"), data=False)
    assert {f.code for f in pool.findings} >= {"DS800", "DS900"}     # the lint names the cause
    shang = doctor(realdata("logs", "shangzw12_ssd_finetune_grow_nan.log")).first_nonfinite
    assert (shang.iteration, shang.phase, shang.layer) == (50, "loss", "mbox_loss")


def test_the_run_that_crashed_first_is_not_the_verdict_the_rerun_is():
    report = doctor(realdata("logs", "ducha_caffenet_adadelta_chance_then_crash.log"))
    assert report.runs == 2 and report.run_start == 14
    several = [f for f in report.findings if f.code == "DS813"]
    assert several and "crashed" in several[0].message
    assert not any(f.code == "DS809" for f in report.findings)


def test_the_healthy_lmdb_log_lints_nothing_and_the_digits_solver_neither():
    report = doctor(realdata("logs", "akompaniyets_digits_caffe_output.log"),
                    solver=realdata("logs", "akompaniyets_digits_solver.prototxt"),
                    net=realdata("logs", "akompaniyets_digits_train_val.prototxt"))
    assert report.verdict == "healthy"
    assert [f.code for f in report.findings if f.code.startswith("DS9")] == []


# ---------------------------------------------------------------------------- the dialect

def test_prefixes_of_any_date_form_and_wrapped_lines():
    assert split_prefix("I0821 09:21:08.874228  5405 solver.cpp:113] hello")[1] == "hello"
    assert split_prefix("I20261121 09:51:52.511353 30059 caffe.cpp:197] Use CPU.") == \
        ("I", "Use CPU.")
    assert split_prefix("[job 3] F0101 01:02:03.000004 7 io.cpp:36] Check failed: x")[0] == "F"
    assert split_prefix("++ echo Logging output to x.log") is None
    assert split_prefix("  base_lr: 0.01") is None


@pytest.mark.parametrize("text,want", [("0.5", 0.5), ("1e+08", 1e8), ("-nan", "nan"),
                                       ("nan", "nan"), ("inf", float("inf")),
                                       ("-inf", float("-inf")), ("-nan(ind)", "nan"),
                                       ("1.#QNAN", "nan"), ("1.#INF", float("inf")),
                                       ("garbage", None)])
def test_numbers_as_glibc_and_msvc_print_them(text, want):
    got = number(text)
    if want == "nan":
        assert got != got
    else:
        assert got == want


def test_events_are_typed_and_test_phase_lines_are_kept_apart():
    lines = [*start(), glog("Iteration 0, Testing net (#0)"),
             glog("    [Forward] Layer ip, top blob ip data: nan", where="net.cpp:593"),
             glog("    Test net output #0: loss = 87.3365 (* 1 = 87.3365 loss)"),
             *iteration(0, 2.3, debug=healthy_debug()),
             "*** Aborted at 1795254713 (unix time) try \"date -d @1795254713\" ***"]
    evs = list(events(lines))
    assert isinstance(evs[0], RunStart)
    debug = [e for e in evs if isinstance(e, Debug)]
    assert debug[0].test and not any(d.test for d in debug[1:])
    assert [type(e) for e in evs if isinstance(e, (ev.TestStart, Loss, LearningRate))] == \
        [ev.TestStart, Loss, LearningRate]
    outs = [e for e in evs if isinstance(e, Output)]
    assert [(o.phase, o.weight) for o in outs] == [("test", 1.0), ("train", 1.0)]
    assert isinstance(evs[-1], Fatal) and evs[-1].signal


# ---------------------------------------------------------------------------- synthetic runs

def write(tmp_path, lines, name="train.log", gz=False, newline=True):
    path = tmp_path / name
    text = "\n".join(lines) + ("\n" if newline else "")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def codes(report):
    return {f.code for f in report.findings}


def test_gradient_blow_up_then_nan_in_a_backward_diff(tmp_path):
    lines = start()
    for i, scale in enumerate([1, 1e2, 1e5, 1e9]):
        lines += iteration(i, 2.3 * (1 + i), debug=healthy_debug(scale))
    bad = healthy_debug()
    bad[("Backward", "loss", "bottom blob ip diff")] = "nan"
    bad[("Backward", "ip", "param blob 0 diff")] = "nan"
    lines += iteration(4, "nan", debug=bad)
    report = doctor(write(tmp_path, lines), data=False)
    assert report.verdict == "nan"
    assert report.first_nonfinite.phase == "backward" and report.first_nonfinite.layer == "loss"
    blow = [f for f in report.findings if f.code == "DS801"]
    assert blow and blow[0].iteration == 2 and blow[0].layer == "ip"
    assert "blow-up" in report.headline


def test_lr_nan_negative_and_zero(tmp_path):
    lines = start() + iteration(0, 2.3, lr="-nan") + iteration(1, "nan", lr="-nan")
    report = doctor(write(tmp_path, lines, "nan.log"), data=False)
    assert "DS802" in codes(report) and report.first_nonfinite.phase == "lr"
    zero = start()
    for i in range(5):
        zero += iteration(i, 2.3, lr=0)
    report = doctor(write(tmp_path, zero, "zero.log"), data=False)
    assert "DS803" in codes(report) and report.verdict == "not_training"


def test_headline_poisoned_while_the_outputs_recovered(tmp_path):
    lines = start() + iteration(0, 2.3) + iteration(1, "nan", out="nan")
    lines += iteration(2, "-nan", out=1.9) + iteration(3, "nan", out=1.8)
    report = doctor(write(tmp_path, lines), data=False)
    assert "DS810" in codes(report) and report.first_nonfinite.iteration == 1


def test_zero_diffs_and_dead_relus(tmp_path):
    lines = start()
    for i in range(5):
        d = healthy_debug()
        d[("Forward", "relu", "top blob ip data")] = 0
        d[("Backward", "ip", "param blob 0 diff")] = 0
        lines += iteration(i, 2.30, debug=d)
    report = doctor(write(tmp_path, lines), data=False)
    assert {"DS807", "DS808"} <= codes(report)
    assert [f.layer for f in report.findings if f.code == "DS808"] == ["relu"]


def test_batchnorm_iteration0_test_is_an_artefact_not_a_failure(tmp_path):
    bn = 'layer {\n  name: "bn"\n  type: "BatchNorm"\n  bottom: "ip"\n  top: "ip"\n}\n'
    lines = start(extra=bn)
    for i, test_loss in ((0, "87.3365"), (1, "2.1"), (2, "1.9")):
        lines += [glog(f"Iteration {i}, Testing net (#0)"),
                  glog(f"    Test net output #0: loss = {test_loss} (* 1 = {test_loss} loss)")]
        lines += iteration(i, 2.3 - i * 0.1)
    report = doctor(write(tmp_path, lines), data=False)
    assert report.verdict == "healthy" and "DS812" in codes(report)


def test_concatenated_runs_and_a_log_cut_mid_line(tmp_path):
    first = start() + iteration(0, 2.3) + [glog("Check failed: x (1 vs. 0) boom", sev="F",
                                                 where="io.cpp:36")]
    second = start() + iteration(0, 2.3) + iteration(1, 2.2)
    cut = iteration(2, 2.1)
    cut[-1] = cut[-1][:30]            # the last line stops in its glog prefix
    report = doctor(write(tmp_path, first + second + cut, newline=False), data=False)
    assert report.runs == 2 and report.verdict == "healthy" and report.iterations == 2
    assert "DS813" in codes(report)


def test_gzip_and_a_truncated_gzip(tmp_path):
    lines = start() + iteration(0, 2.3) + iteration(1, "nan", out="nan")
    whole = write(tmp_path, lines, "a.log.gz", gz=True)
    assert doctor(whole, data=False).verdict == "nan"
    cut = tmp_path / "b.log.gz"
    cut.write_bytes(whole.read_bytes()[:-40])
    report = doctor(cut, data=False)
    assert report.verdict in ("nan", "healthy") and any("gzip" in n for n in report.notes)


def test_stdin(monkeypatch, capsys, tmp_path):
    data = "\n".join(start() + iteration(0, 2.3) + iteration(1, "nan", out="nan")).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    assert main(["doctor", "-", "--format", "json", "--no-data"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "nan" and out["log"] == "-"


def test_a_million_iterations_stream_in_bounded_memory():
    def lines():
        yield from start(max_iter=1_000_000)
        for i in range(1_000_000):
            yield f"I0102 03:04:05.678901 12345 solver.cpp:239] Iteration {i}, loss = 2.5"
            if i % 1000 == 0:
                yield glog(f"Iteration {i}, lr = 0.01", where="sgd_solver.cpp:112")
    facts = RunFacts(1)
    rss = psutil.Process().memory_info().rss
    for i, e in enumerate(events(lines())):
        if not isinstance(e, RunStart):
            facts.feed(e)
        if i == 100_000:          # the baseline once the loop runs (allocator warm)
            rss = psutil.Process().memory_info().rss
    grown = psutil.Process().memory_info().rss - rss
    assert facts.last_iteration == 999_999 and facts.losses == 1_000_000
    assert len(facts.headline.final()) == MAX_POINTS and len(facts.lr.final()) <= MAX_POINTS
    assert grown < 16 << 20, grown       # a list of 10^6 points alone would be ~100 MB


# ---------------------------------------------------------------------------- CLI and JSON

def test_cli_json_shape_and_exit_codes(tmp_path, capsys):
    log = realdata("caffe-ref", "train", "logs", "train_hdf5_main.log")
    assert main(["doctor", str(log), "--format", "json", "--no-data"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["datascan", "log", "iterations", "verdict", "first_nonfinite",
                         "findings", "series"]
    assert set(out["first_nonfinite"]) == {"iteration", "phase", "layer", "blob", "line"}
    assert all(set(f) == {"code", "severity", "message", "iteration", "layer", "line"}
               for f in out["findings"])
    assert out["series"]["loss"][2] == [2, None]          # nan is null in JSON
    clean = realdata("caffe-ref", "train", "logs", "train_hdf5_clean.log")
    assert main(["doctor", str(clean), "-o", str(tmp_path / "r.txt")]) == 0
    assert (tmp_path / "r.txt").read_text().startswith("Healthy")
    assert main(["doctor", str(tmp_path / "missing.log")]) == 2
    assert "cannot read log" in capsys.readouterr().err
    (tmp_path / "junk.log").write_text("hello\nworld\n")
    assert main(["doctor", str(tmp_path / "junk.log")]) == 2


# ---------------------------------------------------------------------------- back to the records

@pytest.mark.parametrize("run", ["hdf5_main", "hdf5_only_nan"])
def test_the_nan_batch_names_its_bad_row(run):
    train = realdata("caffe-ref", "train")
    report = doctor(train / "logs" / f"train_{run}.log", net=train / f"net_{run}.prototxt")
    (batch,) = report.batches
    assert batch.iterations == (2, 2) and batch.indices == (8, 9, 10, 11)
    bad = [f for f in report.findings if f.code == "DS300"]
    assert len(bad) == 1 and "row 9 of" in bad[0].message and bad[0].iteration == 2
    assert "rows 8..11" in batch.note


def test_a_clean_batch_says_the_cause_is_not_the_input():
    train = realdata("caffe-ref", "train")
    report = doctor(train / "logs" / "train_avepool_10x10.log",
                    net=train / "net_avepool_10x10.prototxt", data=True)
    (batch,) = report.batches
    assert batch.indices == (0, 1, 2, 3) and "all clean" in batch.note
    assert not any(f.code == "DS300" for f in report.findings)


def test_data_required_without_a_readable_source_says_why(tmp_path):
    lines = start() + iteration(0, 2.3) + iteration(1, "nan", out="nan")
    report = doctor(write(tmp_path, lines), data=True)
    assert report.batches and "not found" in report.batches[0].note


# ---------------------------------------------------------------------------- counted lines

def _both(monkeypatch, log, **kw):
    """The report read with debug lines counted per blob (DebugRun), and line by line."""
    import functools
    from datascan.doctor import caffe_glog
    fast = doctor(log, **kw)
    monkeypatch.setattr(caffe_glog, "Reader", functools.partial(caffe_glog.Reader, counted=False))
    slow = doctor(log, **kw)
    return fast, slow


def _same(fast, slow):
    from datascan.report.doctor import to_dict
    assert json.dumps(to_dict(fast), sort_keys=True) == json.dumps(to_dict(slow), sort_keys=True)
    assert fast.findings == slow.findings and repr(fast.layers) == repr(slow.layers)   # nan != nan


def test_counting_debug_lines_gives_the_same_report_on_a_synthetic_log(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_doctor import display_block
    lines = start()
    for i in range(40):                   # zeros, growth, a test phase with debug lines, NaN
        d = healthy_debug(scale=1 + i ** 3)
        d[("Backward", "ip", "param blob 1 diff")] = 0 if i >= 30 or i % 7 == 3 else 1e-7
        if i == 20:
            d[("Forward", "late", "top blob late data")] = 0.5      # a blob seen late
        if i % 10 == 5:
            lines += [glog(f"Iteration {i}, Testing net (#0)"),
                      glog("    [Forward] Layer ip, top blob ip data: 0.7", where="net.cpp:593"),
                      glog("    Test net output #0: loss = 2.2 (* 1 = 2.2 loss)")]
        lines += iteration(i, 2.3, debug=d)
    lines += display_block(800).rstrip("\n").split("\n") * 3
    lines += iteration(41, "nan", debug={("Backward", "ip", "param blob 0 diff"): "nan"})
    path = tmp_path / "t.log"
    path.write_text("\n".join(lines) + "\n")
    fast, slow = _both(monkeypatch, path, data=False)
    _same(fast, slow)
    assert fast.verdict == "nan" and len(fast.layers) > 20
    assert any("grew" in x.note for x in fast.layers) and any("0 on" in x.note for x in fast.layers)


@pytest.mark.parametrize("name", [x[0] for x in CAFFE_REF])
def test_counting_debug_lines_gives_the_same_report_on_real_logs(monkeypatch, name):
    _same(*_both(monkeypatch, realdata("caffe-ref", "train", "logs", name), data=False))
