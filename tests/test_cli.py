# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradnn
from microgradnn.cli import main
from microgradnn.data import make_moons


def run_module(*args, cwd=None):
    """``python -m microgradnn ARGS`` in a fresh interpreter: exit status, stdout, stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "microgradnn", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    return proc.returncode, proc.stdout, proc.stderr


# -- version, help, usage errors ----------------------------------------------------------------


def test_version_in_process_and_as_module(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"microgradnn {microgradnn.__version__}"
    code, out, _ = run_module("--version")
    assert code == 0
    assert out.strip() == f"microgradnn {microgradnn.__version__}"


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("microgradnn")
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("microgradnn ")


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "demo" in err
    assert "train" in err
    assert "graph" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--layers", "abc"], "expected hidden layer sizes like 16,16, got 'abc'"),
        (["train", "--layers", "16,0"], "layer sizes must be >= 1, got 0"),
        (["train", "--lr", "-1"], "argument --lr: expected a number > 0, got -1"),
        (["train", "--lr", "fast"], "argument --lr: expected a number, got 'fast'"),
        (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
        (["train", "--batch-size", "x"], "argument --batch-size: expected an integer, got 'x'"),
        (["train", "--l2", "-0.5"], "argument --l2: expected a number >= 0, got -0.5"),
        (["train", "--val-fraction", "1"], "expected a fraction in [0, 1), got 1"),
        (["train", "--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
        (["train", "--loss", "huber"], "argument --loss: invalid choice: 'huber'"),
        (["train", "--data", "spirals", "--loss", "hinge"], "--loss hinge needs two classes"),
        (["demo", "--epochs", "-3"], "expected an integer >= 1, got -3"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["train", "--layers", "abc"], ["train", "--lr", "-1"], ["train", "--data", "nope"], ["x"]],
)
def test_bad_arguments_as_a_process_exit_2_without_traceback(argv):
    code, out, err = run_module(*argv)
    assert code == 2
    assert "error:" in err
    assert "Traceback" not in err
    assert out == ""


# -- train ------------------------------------------------------------------------------------


def test_train_xor_writes_model_summary_and_history(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--data",
        "xor",
        "--layers",
        "4",
        "--activation",
        "tanh",
        "--loss",
        "bce_logits",
        "--optimizer",
        "adam",
        "--lr",
        "0.1",
        "--epochs",
        "300",
        "--batch-size",
        "all",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "accuracy 100.0%" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["data"] == "xor"
    assert summary["config"]["layers"] == [4]
    assert summary["config"]["batch_size"] is None
    assert summary["epochs"] == 300
    assert summary["steps"] == 300
    assert summary["final_train_acc"] == 1.0
    history = json.loads((out / "history.json").read_text())
    assert len(history["train_loss"]) == 300
    assert history["train_loss"][-1] < history["train_loss"][0]

    # The saved model, rebuilt independently of the run, classifies XOR: logit > 0 <=> label 1.
    from microgradnn.nn import load_model

    model = load_model(out / "model.json")
    logits = [model(x).data for x in ([0, 0], [0, 1], [1, 0], [1, 1])]
    assert [int(v > 0) for v in logits] == [0, 1, 1, 0]


@pytest.mark.parametrize(
    ("loss", "nout"), [("cross_entropy", 2), ("mse", 1), ("bce", 1), ("logistic", 1)]
)
def test_train_output_size_follows_the_loss(tmp_path, loss, nout):
    out = tmp_path / loss
    argv = [
        "train",
        "--data",
        "moons",
        "--n",
        "20",
        "--layers",
        "3",
        "--loss",
        loss,
        "--epochs",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    saved = json.loads((out / "model.json").read_text())
    assert saved["model"]["sizes"] == [3, nout]
    expected_out = "sigmoid" if loss == "bce" else None
    assert saved["model"]["output_activation"] == expected_out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["val_fraction"] == 0.2
    assert 0.0 <= summary["val_acc"] <= 1.0


def test_train_multiclass_mse_uses_one_hot_targets(tmp_path):
    out = tmp_path / "blobs"
    argv = [
        "train",
        "--data",
        "blobs",
        "--n",
        "30",
        "--layers",
        "4",
        "--loss",
        "mse",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--compiled",
    ]
    assert main(argv) == 0
    saved = json.loads((out / "model.json").read_text())
    assert saved["model"]["sizes"] == [4, 3]


def test_train_compiled_gives_the_eager_numbers(tmp_path):
    results = []
    for flag in ([], ["--compiled"]):
        out = tmp_path / ("c" if flag else "e")
        argv = [
            "train",
            "--data",
            "moons",
            "--n",
            "40",
            "--layers",
            "8",
            "--epochs",
            "3",
            "--out",
            str(out),
            "--no-progress",
            *flag,
        ]
        assert main(argv) == 0
        results.append(json.loads((out / "history.json").read_text()))
    np.testing.assert_allclose(results[1]["train_loss"], results[0]["train_loss"], rtol=1e-10)


def test_train_progress_goes_to_stderr(tmp_path, capsys):
    argv = ["train", "--data", "or", "--epochs", "3", "--out", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "fit" in captured.err
    assert "fit" not in captured.out


def test_digits_without_scikit_learn_is_a_clean_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    assert main(["train", "--data", "digits", "--out", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'microgradnn[digits]'" in err
    assert "Traceback" not in err


def test_pictures_are_skipped_with_a_note_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "noplot"
    assert (
        main(["train", "--data", "and", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    )
    assert "note: no pictures" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.json", "summary.json"]


# -- graph ------------------------------------------------------------------------------------


def test_graph_draws_an_expression(tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    target = tmp_path / "g.svg"
    argv = ["graph", "tanh(w*x + b)", "--set", "x=2", "w=-3", "b=6.88", "-o", str(target)]
    assert main(argv) == 0
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "w" in capsys.readouterr().out


def test_graph_bad_expression_is_a_usage_error():
    code, _, err = run_module("graph", "tanh(w*x + ", "--set", "x=2")
    assert code == 2
    assert "Traceback" not in err


# -- demo ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_writes_its_files_and_reaches_97_percent(tmp_path):
    code, stdout, stderr = run_module("demo", "--out", "results", cwd=tmp_path)
    assert code == 0, stderr
    out = tmp_path / "results"
    names = {p.name for p in out.iterdir()}
    assert {"model.json", "summary.json", "history.json"} <= names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["layers"] == [16, 16]
    assert summary["config"]["loss"] == "hinge"
    assert summary["epochs"] == 100
    assert summary["final_train_acc"] >= 0.97
    assert summary["seconds"] > 0
    assert "accuracy" in stdout
    assert "fit" in stderr  # the progress bar
    pictures = {"loss.png", "decision_boundary.png"}
    try:
        import matplotlib  # noqa: F401

        assert pictures <= names
        assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert not pictures & names

    # Recount the accuracy from the saved weights, on freshly generated demo data.
    from microgradnn.nn import load_model

    model = load_model(out / "model.json")
    X, y = make_moons(n=100, noise=0.1, seed=0)
    scores = np.array([model(x).data for x in X.tolist()])
    assert np.mean((scores > 0) == (y == 1)) >= 0.97
