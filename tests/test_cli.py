# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

import argparse
import errno
import gc
import io
import json
import os
import re
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


def test_train_help_shows_every_default(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    for action in train._actions:
        if action.option_strings and action.nargs != 0:  # an option that takes a value
            assert "default" in (action.help or ""), action.option_strings
    table = text[text.index("defaults per data set:") :]
    rows = {n: line for names, line in re.findall(r"^  (.+):\n    (.+)$", table, re.M)
            for n in names.split(", ")}  # fmt: skip
    assert set(rows) == set(cli.DATA_DEFAULTS)
    for name, defaults in cli.DATA_DEFAULTS.items():
        line = rows[name] + " "
        assert f"--lr {defaults['lr']:g} " in line
        assert f"--epochs {defaults['epochs']} " in line
        assert f"--activation {defaults['activation']} " in line
        assert f"--optimizer {defaults['optimizer']} " in line


def test_options_given_override_the_data_sets_defaults(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", "xor", "--no-progress", "--out", str(out)]
    assert main([*args, "--epochs", "3", "--lr", "0.5", "--batch-size", "2"]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert (config["epochs"], config["lr"], config["batch_size"]) == (3, 0.5, 2)
    assert (config["layers"], config["activation"], config["optimizer"]) == ([4], "tanh", "adam")
    assert main([*args, "--batch-size", "all", "--epochs", "1"]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["batch_size"] is None  # 'all' given, not the default


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
        (["train", "--data", "blobs", "--loss", "bce"], "(use mse or cross_entropy or categorical"),
        (["train", "--data", "digits", "--loss", "logistic"], "--loss logistic needs two classes"),
        (["demo", "--epochs", "-3"], "expected an integer >= 1, got -3"),
        (["train", "--n", "100001"], "argument --n: expected an integer <= 100000, got 100001"),
        (
            ["train", "--epochs", "99999999999999999999"],
            "argument --epochs: expected an integer <= 100000, got 99999999999999999999",
        ),
        (["demo", "--epochs", "100001"], "argument --epochs: expected an integer <= 100000"),
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

    # One trained neuron's backprop: the first (point, first-layer neuron) whose weighted sum is
    # positive, found here with numpy from the saved weights; through ReLU, d out/d w_j = x_j.
    neuron_files = set(cli.NEURON_FILES)
    if shutil.which("dot") is None:
        assert not neuron_files & names
        assert "no neuron pictures" in stderr
        return
    assert neuron_files <= names
    layer = model.layers[0]
    W = np.array([[w.data for w in n.w] for n in layer.neurons])
    b = np.array([n.b.data for n in layer.neurons])
    point, k = np.argwhere(X[:50] @ W.T + b > 0)[0]
    assert f"drew neuron L0.N{k} on training point {point}" in stdout
    assert "neuron_steps.html" in stdout
    backward = (out / "neuron_backward.svg").read_text(encoding="utf-8").replace("&#45;", "-")
    for x_j, w_j in zip(X[point], W[k], strict=True):
        assert f">grad {x_j:.4g}<" in backward  # the weight's grad is its input
        assert f">grad {w_j:.4g}<" in backward  # the input's grad is its weight
    assert "(earlier)" not in backward  # the last training step's grads were cleared first
    assert f"L0.N{k}.w0" in (out / "neuron_forward.svg").read_text(encoding="utf-8")
    assert "<script" in (out / "neuron_steps.html").read_text(encoding="utf-8")


# -- failures end in one line, never a traceback ------------------------------------------------


def one_line_error(err, prog, *fragments):
    """stderr is argparse's usage block (if any), then one line ``PROG: error: ...``."""
    assert "Traceback" not in err
    lines = err.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        while lines and lines[0].startswith(" "):
            lines = lines[1:]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    return lines[0]


def small_train(out, *more):
    argv = ["train", "--data", "and", "--layers", "2", "--epochs", "1", "--no-progress"]
    return [*argv, "--out", str(out), *more]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def hidden_leftovers(parent):
    return sorted(p.name for p in Path(parent).iterdir() if p.name.startswith("."))


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if training starts; records nothing else."""

    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("microgradnn.train.fit", fit)


@pytest.mark.parametrize("option", ["-o", "--html"])
def test_graph_output_in_a_missing_folder_is_one_line(tmp_path, capsys, option):
    target = tmp_path / "missing" / "g.dot"
    assert main(["graph", "x*2", "--set", "x=1", option, str(target)]) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn graph",
        f"cannot write {target}: No such file or directory",
    )


@pytest.mark.parametrize("option", ["-o", "--html"])
def test_graph_output_that_is_a_folder_is_one_line(tmp_path, capsys, option):
    target = tmp_path / "pic.dot"
    target.mkdir()
    assert main(["graph", "x*2", "--set", "x=1", option, str(target)]) == 1
    one_line_error(
        capsys.readouterr().err, "microgradnn graph", f"cannot write {target}: Is a directory"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_graph_output_in_a_read_only_folder_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["graph", "x*2", "--set", "x=1", "-o", str(locked / "g.dot")]) == 1
    finally:
        locked.chmod(0o700)
    one_line_error(capsys.readouterr().err, "microgradnn graph", "Permission denied")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        (OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
    ],
)
@pytest.mark.parametrize("option", ["-o", "--html"])
def test_graph_write_errors_name_the_path(tmp_path, capsys, monkeypatch, error, reason, option):
    def replace(src, dst):  # every file is written beside its target, then renamed over it
        raise error

    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "g.dot"
    assert main(["graph", "x*2", "--set", "x=1", option, str(target)]) == 1
    one_line_error(capsys.readouterr().err, "microgradnn graph", f"cannot write {target}: {reason}")


def test_graph_unwritable_output_as_a_process_is_one_line(tmp_path):
    target = tmp_path / "missing" / "g.svg"
    code, out, err = run_module("graph", "x*2", "--set", "x=1", "-o", str(target))
    assert code == 1
    one_line_error(err, "microgradnn graph", f"cannot write {target}")
    assert "dout/dx = 2" in out  # the numbers came before the picture failed


def huge_label_picture(size):
    import graphviz

    picture = graphviz.Digraph()
    picture.node("a", label="<" + "x" * size + ">")
    return lambda *args, **kwargs: picture


@needs_dot
def test_graph_dot_refusing_a_huge_label_is_one_line(tmp_path, capsys, monkeypatch):
    # graphviz refuses an HTML label over 16384 characters; the expression language's own
    # limits keep its labels below that, so the picture is made huge directly.
    monkeypatch.setattr("microgradnn.viz.graph.draw_dot", huge_label_picture(20_000))
    assert main(["graph", "x*2", "--set", "x=1", "-o", str(tmp_path / "g.svg")]) == 1
    line = one_line_error(
        capsys.readouterr().err, "microgradnn graph", "graphviz's dot could not draw the graph ("
    )
    assert "longer than 16384" in line
    assert "-o NAME.dot" in line
    assert not (tmp_path / "g.svg").exists()


@needs_dot
# graphviz leaves dot running, with its pipes open, when dot hangs up on its input.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_graph_dot_hanging_up_on_a_huge_graph_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("microgradnn.viz.graph.draw_dot", huge_label_picture(2_000_000))
    assert main(["graph", "x*2", "--set", "x=1", "-o", str(tmp_path / "g.svg")]) == 1
    one_line_error(capsys.readouterr().err, "microgradnn graph", "graphviz's dot ", "-o NAME.dot")
    # Reap that dot here: left to the garbage collector, its pipes' warnings would fail a later
    # test.
    gc.collect()
    for leaked in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which some lazy objects (torch's
        # deprecated aliases) answer with a warning.
        if type(leaked) is subprocess.Popen and "dot" in str(leaked.args):
            leaked.kill()
            leaked.communicate(timeout=30)


def test_graph_broken_pipe_to_dot_is_one_line(tmp_path, capsys, monkeypatch):
    def render(*args, **kwargs):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr("microgradnn.viz.graph.render", render)
    assert main(["graph", "x*2", "--set", "x=1", "-o", str(tmp_path / "g.svg")]) == 1
    one_line_error(
        capsys.readouterr().err, "microgradnn graph", "graphviz's dot stopped reading the graph"
    )


def test_graph_without_graphviz_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", "x*x", "--set", "x=3", "-o", str(tmp_path / "g.svg")]) == 1
    one_line_error(capsys.readouterr().err, "microgradnn graph", "apt install graphviz")


@pytest.mark.parametrize("spec", ["1000000000", ".1000000000g", "<1000000000.3f", "1" * 5000, "51"])
def test_graph_huge_number_format_is_refused_before_formatting(capsys, spec):
    assert main(["graph", "x", "--set", "x=1", "--number-format", spec]) == 2
    captured = capsys.readouterr()
    one_line_error(
        captured.err,
        "microgradnn graph",
        "argument --number-format: expected a width and precision of at most 50",
    )
    assert captured.out == ""


def test_graph_number_format_is_checked_for_a_lead_parser_too():
    args = argparse.Namespace(expr="x", set=["x=1"], number_format=".1000000000g")
    out, err = io.StringIO(), io.StringIO()
    assert cli_graph(args, stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    one_line_error(err.getvalue(), "microgradnn graph", "--number-format: expected a width")
    args.number_format = ".50f"
    assert cli_graph(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["graph", "-x*2", "--set", "x=1"], "out = -2"),
        (["graph", "--set", "x=1", "-x*2"], "out = -2"),
        (["graph", "-x", "--set", "x=4"], "out = -4"),
        (["graph", "--x", "--set", "x=4"], "out = 4"),
        (["graph", "-x*y", "--set", "x=2", "y=-3"], "out = 6"),
        (["graph", "x*2", "--set", "x=-3"], "out = -6"),
        (["graph", "--set", "x=-3", "--", "-x*2"], "out = 6"),
        (["graph", "-3*x", "--set", "x=1", "--number-format", ".2f"], "out = -3.00"),
    ],
)
def test_graph_expression_may_start_with_a_minus(capsys, argv, first_line):
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == first_line
    assert captured.err == ""


def test_graph_expression_with_a_minus_keeps_the_options_around_it(tmp_path, capsys):
    target = tmp_path / "g.dot"
    argv = ["graph", "-o", str(target), "-x*2", "--format", "dot", "--set", "x=-3"]
    assert main(argv) == 0
    assert "out = 6" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8").startswith("digraph")


def test_graph_expression_with_a_minus_as_a_process():
    code, out, err = run_module("graph", "-x*2", "--set", "x=-3")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "out = 6"


@pytest.mark.parametrize(
    ("argv", "prog", "raw", "escaped"),
    [
        (["graph", "x\x1b[31m", "--set", "x=1"], "microgradnn graph", "\x1b", "'\\x1b'"),
        (["graph", "x", "--set", "a\nb=1"], "microgradnn graph", "a\nb", "'a\\nb=1'"),
        (["graph", "x", "--set", "x=1", "\x1b[2J"], "microgradnn graph", "\x1b", "\\x1b[2J"),
        (["graph", "x", "--view", "\x1b[2J"], "microgradnn graph", "\x1b", "'\\x1b[2J'"),
        (["train", "--data", "and", "--\x1b[31m"], "microgradnn", "\x1b", ": --\\x1b[31m"),
        (["graph", "x", "\u2028y"], "microgradnn", "\u2028", "\\u2028y"),
    ],
)
def test_error_messages_escape_control_characters(capsys, argv, prog, raw, escaped):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert raw not in err
    one_line_error(err, prog, escaped)


def test_error_messages_escape_control_characters_in_paths(tmp_path, capsys):
    blocker = tmp_path / "f\x1b[31m"
    blocker.write_text("not a folder")
    assert main(small_train(blocker / "run")) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err
    one_line_error(err, "microgradnn train", "f\\x1b[31m")


def test_expression_errors_are_one_line_with_the_position(capsys):
    assert main(["graph", "tanh(x*w + ", "--set", "x=2"]) == 2
    one_line_error(capsys.readouterr().err, "microgradnn graph", "syntax error at the end")
    assert main(["graph", "x +* 2", "--set", "x=2"]) == 2
    one_line_error(capsys.readouterr().err, "microgradnn graph", "at position 3")


# -- train: bad combinations found after parsing --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "noise", "reach"),
    [
        ("moons", "1e308", "numbers that are not finite"),
        ("blobs", "1e308", "numbers that are not finite"),
        ("circles", "1e200", "1.96e+200"),
    ],
)
def test_train_noise_that_makes_no_usable_points_is_one_line(
    tmp_path, capsys, no_fit, data, noise, reach
):
    argv = small_train(tmp_path / "run", "--data", data, "--n", "20", "--noise", noise)
    assert main(argv) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        f"--noise {float(noise):g} is too large: the points reach {reach}, beyond 1e+150 (their "
        "squares would overflow); use a smaller --noise",
    )
    assert not (tmp_path / "run").exists()


def test_train_noise_near_the_float_limit_draws_no_infinite_picture(tmp_path, capsys):
    # 1e308 noise with this seed makes finite points; a picture around them would not be.
    argv = small_train(tmp_path / "run", "--data", "moons", "--n", "12", "--noise", "1e308")
    assert main([*argv, "--seed", "99999999999999999999999"]) == 1
    one_line_error(capsys.readouterr().err, "microgradnn train", "--noise 1e+308 is too large")


def test_train_validation_share_that_leaves_no_training_rows(tmp_path, capsys, no_fit):
    argv = small_train(tmp_path / "run", "--data", "moons", "--n", "4", "--val-fraction", "0.99")
    assert main(argv) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        "--val-fraction 0.99 of 4 points holds out 4 for validation, which leaves no training "
        "points; use a smaller --val-fraction or a larger --n",
    )


@pytest.fixture
def no_model(monkeypatch):
    def mlp(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr("microgradnn.nn.MLP", mlp)


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (
            ["--layers", "100000"],
            "--layers: each update would build a graph of about 28,800,096 nodes (900,003 per "
            "example, 32 examples), more than 5,000,000; use smaller layers, a smaller "
            "--batch-size, or --compiled",
        ),
        (
            ["--layers", "1500,1500"],
            "--layers: the network would have 2,257,501 parameters, more than the 2,000,000",
        ),
        (["--layers", "99999999999999999999"], "parameters, more than the 2,000,000"),
        (["--layers", ",".join(["2"] * 200_000)], "each update would build a graph of about"),
    ],
    ids=["wide", "parameters", "huge-int", "deep"],
)
def test_train_network_too_large_is_refused_before_building_it(
    tmp_path, capsys, no_model, more, message
):
    argv = small_train(tmp_path / "run", "--data", "moons", "--n", "40", *more)
    assert main(argv) == 1
    one_line_error(capsys.readouterr().err, "microgradnn train", message)
    assert not (tmp_path / "run").exists()
    assert hidden_leftovers(tmp_path) == []


def test_compiled_graph_limit_is_per_example(tmp_path, capsys, no_model, monkeypatch):
    monkeypatch.setattr(cli, "MAX_PARAMETERS", 10**9)
    argv = small_train(tmp_path / "run", "--n", "40", "--layers", "2000,2000", "--compiled")
    assert main(argv) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        "--layers: one example's graph would have about 8,024,003 nodes, more than the "
        "5,000,000 --compiled traces",
    )


def test_compiled_allows_what_eager_refuses_per_batch(tmp_path, monkeypatch):
    seen = {}

    def fit(model, *args, **kwargs):
        seen["sizes"] = [len(layer.neurons) for layer in model.layers]
        raise cli.CliError("stop: the model was built")

    monkeypatch.setattr("microgradnn.train.fit", fit)
    argv = small_train(tmp_path / "run", "--data", "moons", "--n", "40", "--layers", "20000")
    assert main(argv) == 1  # 180,003 nodes per example x 32 examples: refused eager
    assert "sizes" not in seen
    assert main([*argv, "--compiled"]) == 1
    assert seen["sizes"] == [20000, 1]


def test_decision_boundary_grid_shrinks_for_a_large_network(tmp_path, monkeypatch):
    from microgradnn.viz import plots

    grids = []
    draw = plots.plot_decision_boundary

    def plot_decision_boundary(*args, **kwargs):
        grids.append(kwargs.get("resolution", 200))
        return draw(*args, **{**kwargs, "resolution": 5})

    monkeypatch.setattr(plots, "plot_decision_boundary", plot_decision_boundary)
    for layers in ("16,16", "64,64"):
        argv = ["train", "--data", "moons", "--n", "8", "--epochs", "1", "--no-progress"]
        assert main([*argv, "--layers", layers, "--out", str(tmp_path / layers)]) == 0
    # 16-16 (707 nodes per example) keeps the full 200 x 200 grid; 64-64 (8,963 nodes) would
    # hold 360 million values at 200 x 200 (gigabytes), so it gets 59 x 59.
    assert grids == [200, 59]


# -- train: the output folder ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("file/run", "cannot write --out {out}: a file is in the way"),
        ("file/deeper/run", "cannot write --out {out}: Not a directory"),
        ("file", "--out {out} is a file, not a folder"),
    ],
)
def test_train_checks_out_before_training(tmp_path, capsys, no_fit, where, message):
    (tmp_path / "file").write_text("in the way")
    out = tmp_path / where
    assert main(small_train(out)) == 1
    one_line_error(capsys.readouterr().err, "microgradnn train", message.format(out=out))
    assert (tmp_path / "file").read_text() == "in the way"


def test_train_refuses_a_folder_holding_other_files(tmp_path, capsys, no_fit):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    (out / "model.json").write_text("{}")
    assert main(small_train(out)) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        f"--out {out} holds files a run does not write (thesis.tex); a run replaces its whole "
        "folder, so name a new or empty folder",
    )
    assert snapshot(out) == {"model.json": b"{}", "thesis.tex": b"months of work"}


@pytest.mark.parametrize("out", [".", "", ".."])
def test_train_refuses_the_current_folder(tmp_path, capsys, monkeypatch, no_fit, out):
    monkeypatch.chdir(tmp_path)
    assert main(small_train(out)) == 1
    one_line_error(capsys.readouterr().err, "microgradnn train", "--out")
    assert list(tmp_path.iterdir()) == []


def test_train_permission_error_on_out_is_reported_before_training(
    tmp_path, capsys, monkeypatch, no_fit
):
    def mkdir(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "run"
    assert main(small_train(out)) == 1
    one_line_error(
        capsys.readouterr().err, "microgradnn train", f"cannot write --out {out}: Permission denied"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_train_read_only_parent_is_reported_before_training(tmp_path, capsys, no_fit):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(small_train(locked / "run")) == 1
    finally:
        locked.chmod(0o700)
    one_line_error(capsys.readouterr().err, "microgradnn train", "Permission denied")


def test_train_disk_full_keeps_the_earlier_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(small_train(out)) == 0
    before = snapshot(out)
    capsys.readouterr()

    def write_text(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(small_train(out, "--seed", "1")) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        f"cannot write {out / 'summary.json'}: No space left on device",
    )
    assert snapshot(out) == before  # model.json of the failed run is not beside the old history
    assert hidden_leftovers(tmp_path) == []


def test_train_interrupted_keeps_the_earlier_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(small_train(out)) == 0
    before = snapshot(out)
    capsys.readouterr()

    def fit(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("microgradnn.train.fit", fit)
    assert main(small_train(out, "--seed", "1")) == 130
    assert capsys.readouterr().err == "microgradnn train: interrupted\n"
    assert snapshot(out) == before
    assert hidden_leftovers(tmp_path) == []


def test_a_second_run_replaces_the_first_whole_and_says_so(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(small_train(out)) == 0
    assert "replaced" not in capsys.readouterr().out
    assert "decision_boundary.png" in snapshot(out)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # this run writes no pictures
    assert main(small_train(out, "--seed", "1")) == 0
    stdout = capsys.readouterr().out
    assert f"replaced the earlier run in {out}{os.sep}" in stdout
    assert sorted(snapshot(out)) == ["history.json", "model.json", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["config"]["seed"] == 1
    assert hidden_leftovers(tmp_path) == []


def test_demo_follows_the_same_folder_policy(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    assert "over 1 epoch\n" in capsys.readouterr().out
    (out / "notes.txt").write_text("mine")
    assert main(argv) == 1
    one_line_error(capsys.readouterr().err, "microgradnn demo", "holds files a run does not write")
    (out / "notes.txt").unlink()
    assert main(argv) == 0
    assert f"replaced the earlier run in {out}{os.sep}" in capsys.readouterr().out


def test_train_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert main(small_train(link)) == 0
    assert main(small_train(link, "--seed", "1")) == 0
    assert link.is_symlink()
    assert (real / "model.json").exists()
    assert json.loads((link / "summary.json").read_text())["config"]["seed"] == 1


# -- train: divergence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "more",
    [
        ["--lr", "1e300"],
        ["--lr", "1e300", "--compiled"],
        ["--lr", "1e300", "--loss", "bce"],  # the loss refuses nan probabilities mid-epoch
        ["--lr", "1e10", "--optimizer", "sgd", "--loss", "mse"],
    ],
)
def test_training_that_diverges_stops_and_writes_nothing(tmp_path, capsys, more):
    out = tmp_path / "run"
    argv = ["train", "--data", "moons", "--n", "20", "--layers", "3", "--epochs", "20"]
    assert main([*argv, "--no-progress", "--out", str(out), *more]) == 1
    line = one_line_error(capsys.readouterr().err, "microgradnn train", "training diverged at")
    assert re.search(
        r"diverged at epoch \d+: (the loss is (nan|inf)|the validation loss is (nan|inf)|the "
        r"(weights|network's outputs) are no longer finite numbers); try a smaller --lr$",
        line,
    ), line
    assert not out.exists()
    assert hidden_leftovers(tmp_path) == []


def test_divergence_names_the_epoch(tmp_path, capsys, monkeypatch):
    from microgradnn import train

    real_fit = train.fit

    def fit(*args, callbacks=(), **kwargs):
        def poison(epoch, model, history):
            if epoch == 11:
                history.train_loss[-1] = float("nan")

        class Poison:
            on_epoch_end = staticmethod(poison)

        return real_fit(*args, callbacks=[Poison(), *callbacks], **kwargs)

    monkeypatch.setattr(train, "fit", fit)
    out = tmp_path / "run"
    assert main(small_train(out, "--epochs", "30", "--l2", "0.01")) == 1
    one_line_error(
        capsys.readouterr().err,
        "microgradnn train",
        "training diverged at epoch 12: the loss is nan; try a smaller --lr or --l2",
    )
    assert not out.exists()


# -- interrupts, internal errors, closed pipes ----------------------------------------------------


def test_ctrl_c_in_train_is_one_line_and_130(tmp_path, capsys, monkeypatch):
    def fit(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("microgradnn.train.fit", fit)
    assert main(small_train(tmp_path / "run")) == 130
    captured = capsys.readouterr()
    assert captured.err == "microgradnn train: interrupted\n"
    assert not (tmp_path / "run").exists()
    assert hidden_leftovers(tmp_path) == []


def test_ctrl_c_in_graph_is_one_line_and_130(capsys, monkeypatch):
    def parse_expression(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "parse_expression", parse_expression)
    assert main(["graph", "x", "--set", "x=1"]) == 130
    assert capsys.readouterr().err == "microgradnn graph: interrupted\n"


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_as_a_process(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    argv = ["train", "--data", "moons", "--n", "2000", "--epochs", "100000", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "microgradnn", *argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    try:
        deadline = time.monotonic() + 60
        while not hidden_leftovers(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)  # training starts once its folder beside --out exists
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "microgradnn train: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_a_bug_is_one_line_internal_error(tmp_path, capsys, monkeypatch):
    def fit(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr("microgradnn.train.fit", fit)
    monkeypatch.delenv("MICROGRADNN_DEBUG", raising=False)
    assert main(small_train(tmp_path / "run")) == 1
    assert capsys.readouterr().err == (
        "microgradnn train: error: internal error: ZeroDivisionError: division by zero; "
        "please report it\n"
    )
    monkeypatch.setenv("MICROGRADNN_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(small_train(tmp_path / "run"))
    assert hidden_leftovers(tmp_path) == []


def test_a_bug_in_graph_is_one_line_internal_error(capsys, monkeypatch):
    def parse_expression(*args, **kwargs):
        raise RuntimeError("line one\nline two \x1b[2J")

    monkeypatch.setattr(cli, "parse_expression", parse_expression)
    monkeypatch.delenv("MICROGRADNN_DEBUG", raising=False)
    assert main(["graph", "x", "--set", "x=1"]) == 1
    assert capsys.readouterr().err == (
        "microgradnn graph: error: internal error: RuntimeError: line one\\nline two \\x1b[2J; "
        "please report it\n"
    )


def test_a_bug_as_a_process_is_one_line(tmp_path):
    script = (
        "import sys, microgradnn.train as t\n"
        "def fit(*a, **k): raise LookupError('oops')\n"
        "t.fit = fit\n"
        "from microgradnn.cli import main\n"
        f"sys.exit(main({small_train(tmp_path / 'run')!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MICROGRADNN_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "microgradnn train: error: internal error: LookupError: oops; please report it\n"
    )


def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    def fit(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("microgradnn.train.fit", fit)
    assert main(small_train(tmp_path / "run")) == 1
    assert capsys.readouterr().err == "microgradnn train: error: out of memory\n"


@pytest.mark.skipif(os.name != "posix", reason="needs os.pipe semantics of POSIX")
@pytest.mark.parametrize("argv", [["graph", "x*2", "--set", "x=1"], ["--version"]])
def test_a_closed_stdout_pipe_ends_quietly(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `microgradnn graph ... | head -0`: nobody reads what we print
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "microgradnn", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode in (0, 1)


@needs_dot
def test_graph_to_stdout_writes_only_the_picture_there(tmp_path):
    code, out, err = run_module(
        "graph", "x*w", "--set", "x=3", "w=2", "-o", "-", "--format", "dot", cwd=tmp_path
    )
    assert code == 0, err
    assert out.startswith("digraph")
    assert "dout/dx = 2" in err  # the numbers moved to stderr
    assert list(tmp_path.iterdir()) == []  # no file named '-' or '-.svg'
    proc = subprocess.run(
        [sys.executable, "-m", "microgradnn", "graph", "x*w", "--set", "x=3", "w=2", "-o", "-",
         "--format", "png"], capture_output=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    code, out, err = run_module("graph", "x*w", "--set", "x=3", "w=2", "-o", "-", "--view", "both")
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "microgradnn graph: error: -o -: writes one picture to stdout; "
        "choose --view forward or backward"
    )


@needs_dot
def test_graph_to_a_closed_pipe_ends_quietly():
    proc = subprocess.run(
        f'"{sys.executable}" -m microgradnn graph "tanh(x*w + b)" --set x=2 w=-3 b=1 -o - '
        "--format dot | head -c 10",
        shell=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.stdout == "digraph mi"
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr
