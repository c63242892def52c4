# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradnn
from microgradnn import cli
from microgradnn.activations import ACTIVATIONS
from microgradnn.cli import add_graph_arguments, build_parser, cli_graph, main, parse_assignments
from microgradnn.data import make_moons
from microgradnn.losses import LOSS_INFO
from microgradnn.optim import OPTIMIZERS
from microgradnn.viz import ExpressionError

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


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
        (
            ["train", "--layers", "16,0"],
            "argument --layers: layer size: expected an integer >= 1, got 0",
        ),
        (["train", "--lr", "-1"], "argument --lr: expected a number > 0, got -1.0"),
        (["train", "--lr", "0"], "argument --lr: expected a number > 0, got 0.0"),
        (["train", "--lr", "nan"], "argument --lr: expected a number > 0, got nan"),
        (["train", "--lr", "fast"], "argument --lr: expected a number > 0, got str 'fast'"),
        (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
        (
            ["train", "--epochs", "2.5"],
            "argument --epochs: expected an integer >= 1, got str '2.5'",
        ),
        (
            ["train", "--batch-size", "x"],
            "argument --batch-size: expected an integer >= 1, got str 'x'",
        ),
        (["train", "--l2", "-0.5"], "argument --l2: expected a number >= 0, got -0.5"),
        (["train", "--noise", "inf"], "argument --noise: expected a number >= 0, got inf"),
        (["train", "--n", "3"], "argument --n: expected an integer >= 4, got 3"),
        (
            ["train", "--val-fraction", "1"],
            "argument --val-fraction: expected a number in [0, 1), got 1.0",
        ),
        (["train", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
        (["train", "--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
        (["train", "--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
        (["train", "--loss", "huber"], "argument --loss: invalid choice: 'huber'"),
        (["train", "--data", "spirals", "--loss", "hinge"], "--loss hinge needs two classes"),
        (["train", "--data", "blobs", "--loss", "bce"], "(use mse or cross_entropy)"),
        (["train", "--data", "digits", "--loss", "logistic"], "--loss logistic needs two classes"),
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


def test_choice_lists_come_from_the_tables():
    train = next(
        action.choices[name]
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
        if name == "train"
    )
    choices = {a.dest: a.choices for a in train._actions if a.choices is not None}
    assert list(choices["loss"]) == list(LOSS_INFO)
    assert list(choices["optimizer"]) == list(OPTIMIZERS)
    assert "adamw" in choices["optimizer"]
    assert list(choices["activation"]) == list(ACTIVATIONS)


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


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_of_the_table_trains(tmp_path, optimizer):
    out = tmp_path / optimizer
    argv = ["train", "--data", "or", "--layers", "2", "--optimizer", optimizer, "--epochs", "2"]
    assert main([*argv, "--lr", "0.05", "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["optimizer"] == optimizer
    assert summary["steps"] == 2


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_of_the_table_trains(tmp_path, activation):
    out = tmp_path / activation
    argv = ["train", "--data", "and", "--layers", "2", "--activation", activation]
    assert main([*argv, "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    saved = json.loads((out / "model.json").read_text())
    assert activation in json.dumps(saved["model"])


def test_hinge_targets_are_signs_and_the_picture_gets_labels(tmp_path, monkeypatch):
    seen = {}

    def fake_fit(model, inputs, y, **kwargs):
        seen["y"] = np.asarray(y)
        raise cli.CliError("stop after fit saw its targets")

    monkeypatch.setattr("microgradnn.train.fit", fake_fit)
    argv = ["train", "--data", "xor", "--loss", "hinge", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 1
    assert sorted(set(seen["y"].tolist())) == [-1, 1]  # xor's labels 0/1 as -1/+1
    np.testing.assert_array_equal(seen["y"] > 0, np.array([0, 1, 1, 0]) == 1)


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


def test_graph_names_stay_importable_from_their_old_homes():
    import microgradnn.viz
    import microgradnn.viz.expr

    for name in ("add_graph_arguments", "cli_graph", "parse_assignments"):
        with pytest.warns(DeprecationWarning, match=f"moved to microgradnn.cli.{name}"):
            assert getattr(microgradnn.viz.expr, name) is getattr(cli, name)
    with pytest.warns(DeprecationWarning, match="moved to microgradnn.cli"):
        assert microgradnn.viz.add_graph_arguments is cli.add_graph_arguments
    with pytest.warns(DeprecationWarning, match="moved to microgradnn.cli"):
        assert microgradnn.viz.cli_graph is cli.cli_graph
    with pytest.raises(AttributeError):
        _ = microgradnn.viz.no_such_name


def test_parse_assignments():
    assert parse_assignments(["x=2", "w=-3", " b = 6.88"]) == {"x": 2.0, "w": -3.0, "b": 6.88}
    assert parse_assignments(["x=inf"]) == {"x": float("inf")}
    assert parse_assignments(None) == {}
    with pytest.raises(ExpressionError, match="expects NAME=NUMBER, got 'x'"):
        parse_assignments(["x"])
    with pytest.raises(ExpressionError, match="expects NAME=NUMBER, got '2x=1'"):
        parse_assignments(["2x=1"])
    with pytest.raises(ExpressionError, match="--set x: expected a number, got str 'two'"):
        parse_assignments(["x=two"])
    with pytest.raises(ExpressionError, match="gives x twice"):
        parse_assignments(["x=1", "x=2"])


def run_graph(argv):
    parser = add_graph_arguments(argparse.ArgumentParser(prog="microgradnn graph"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    return cli_graph(args, stdout=out, stderr=err), out.getvalue(), err.getvalue()


@needs_dot
def test_graph_writes_forward_and_backward_pictures(tmp_path):
    out = tmp_path / "g.svg"
    code, text, err = run_graph(
        [
            "tanh(x*w + b)",
            "--set",
            "x=2",
            "w=-3",
            "b=6.8813735870195432",
            "-o",
            str(out),
            "--view",
            "both",
            "--html",
            str(tmp_path / "steps.html"),
        ]
    )
    assert (code, err) == (0, "")
    fwd, bwd = tmp_path / "g-forward.svg", tmp_path / "g-backward.svg"
    assert fwd.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    backward = bwd.read_text(encoding="utf-8").replace("&#45;", "-")
    assert "0.5 × -3 = -1.5" in backward  # x's edge: grad(x*w) × w
    assert "out = 0.7071" in text
    assert "dout/dx = -1.5" in text
    assert (tmp_path / "steps.html").exists()
    assert f"wrote {fwd}" in text


def test_graph_dot_format_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, _ = run_graph(["x*x", "--set", "x=3", "-o", str(tmp_path / "g"), "--format", "dot"])
    assert code == 0
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")
    code, _, err = run_graph(["x*x", "--set", "x=3", "-o", str(tmp_path / "g.svg")])
    assert code == 1
    assert "apt install graphviz" in err


def test_graph_reports_bad_input_with_exit_code_2():
    code, _, err = run_graph(["tanh(x*w + b)", "--set", "x=2"])
    assert code == 2
    assert "no value for variables w, b" in err
    code, _, err = run_graph(["tanh(x", "--set", "x=2"])
    assert code == 2
    assert "syntax error" in err
    code, _, err = run_graph(["x", "--set", "x=abc"])
    assert code == 2
    assert "--set x: expected a number, got str 'abc'" in err
    code, _, err = run_graph(["x.real", "--set", "x=1"])
    assert code == 2
    assert "attribute access '.real' at position 1 is not allowed" in err


def test_graph_without_output_prints_grads_only():
    code, text, _ = run_graph(["x*x + y", "--set", "x=3", "y=1"])
    assert code == 0
    assert "dout/dx = 6" in text
    assert "dout/dy = 1" in text
    assert "pass -o graph.svg" in text


def test_graph_accepts_the_lead_parsers_output_name(tmp_path):
    args = argparse.Namespace(
        expr="x*2", set=["x=1"], output=str(tmp_path / "a.dot"), view="forward", format=None
    )
    assert cli_graph(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert (tmp_path / "a.dot").exists()
    args.view = "sideways"
    err = io.StringIO()
    assert cli_graph(args, stdout=io.StringIO(), stderr=err) == 2
    assert "--view: expected one of 'forward', 'backward', 'both', got 'sideways'" in err.getvalue()


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
