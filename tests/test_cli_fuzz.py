"""Hostile command lines for ``microgradnn train`` and ``graph``: never a traceback.

Each example mixes valid words with hostile ones (0, -1, 1e308, nan, inf, huge integers, empty
strings, control characters, unicode, very long strings, paths that cannot be written) and runs
``main()`` in process. Whatever comes in, ``main()`` returns an exit status and stderr holds at
most argparse's usage block and one error line: no traceback, no internal error, no raw control
character. The runs are kept cheap (a few points, one epoch, tiny networks) so the file stays
within seconds.
"""

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgradnn.activations import ACTIVATIONS
from microgradnn.cli import main
from microgradnn.losses import LOSS_INFO
from microgradnn.optim import OPTIMIZERS

MALFORMED = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1e308",
            "-1e308",
            "nan",
            "inf",
            "-inf",
            "99999999999999999999999",
            "9" * 5000,
            "",
            " ",
            "0x10",
            "1_000",
            "١٢",
            "½",
            "\x1b[2J\x1b[31m",
            "a\nb",
            "\u2028",
            "é",
            "𝔵",
            "x" * 20_000,
            "\x00",
            "-",
            "--",
            "-x",
            "--no-such-option",
        ]
    ),
    st.text(max_size=30),
)
"""Words that should be refused wherever they land, or change nothing."""

# Relative to the example's own empty folder, the current folder while it runs: "file" is a
# file there and "adir.svg" a folder, so anything under the first cannot be written, nor the
# second as a picture.
OUT_FOLDERS = [
    "out",
    "nested/deeper/out",
    "file",
    "file/out",
    "file/a/b",
    "adir.svg",
    "/proc/microgradnn/out",
    "/dev/null/out",
    "",
    ".",
    "..",
    "a" * 300,
    "bad\x1b[31m/out",
    "\x00",
]
PICTURES = [
    "g.dot",
    "g",
    "g.svg",
    "missing/g.dot",
    "file/g.dot",
    "adir.svg",
    "/dev/null/g.svg",
    "a" * 300 + ".dot",
    "bad\x1b[31m.dot",
    "\x00.dot",
    "",
]

TRAIN_VALUES = {
    "--data": ["xor", "and", "or", "moons", "circles", "spirals", "blobs"],
    "--n": ["4", "5", "12"],
    "--noise": ["0", "0.1", "1e308", "1e200"],
    "--layers": ["2", "3,2", "", "none", "3000,3000", "99999999999999999999", "200"],
    "--activation": list(ACTIVATIONS),
    "--loss": list(LOSS_INFO),
    "--optimizer": list(OPTIMIZERS),
    "--lr": ["0.1", "1e308", "1e300", "1e-320"],
    "--batch-size": ["all", "1", "3", "99999999999999999999999"],
    "--seed": ["0", "7", "99999999999999999999999"],
    "--l2": ["0", "0.01", "1e308"],
    "--val-fraction": ["0", "0.5", "0.99", "1e-300"],
    "--epochs": ["1", "2"],
    "--out": OUT_FOLDERS,
}
"""Values argparse accepts, cheap to run, many of them hostile all the same."""

X = ["x=0.5"]
XWB = ["x=2", "w=-3", "b=6.88"]
GRAPH_EXPRESSIONS = [
    ("x*2", X),
    ("-x*2", ["x=-3"]),
    ("--x", X),
    ("tanh(x*w + b)", XWB),
    ("n = x*w; tanh(n)", ["x=1", "w=1e308"]),
    ("x**2 + log(x) - exp(x)", ["x=1e308"]),
    ("sum(x, w, b)", XWB),
    ("relu(-x) / w", ["x=-1", "w=0"]),
    ("x/0", X),
    ("log(x)", ["x=-1"]),
    ("x**1e308", ["x=nan"]),
    ("é*2", ["é=2"]),
    ("x" * 5000 + "*2", ["x" * 5000 + "=1"]),
    ("(" * 300 + "x" + ")" * 300, X),
    ("-" * 3000 + "x", X),
    ("x\x1b[31m", X),
]
GRAPH_VALUES = {
    "--view": ["forward", "backward", "both"],
    "--format": ["dot", "svg"],
    "--rankdir": ["LR", "TB"],
    "--number-format": [".4g", ".3f", ".50f", "%", "+.2e", "<10.3g"],
    "-o": PICTURES,
    "--html": PICTURES,
}


def pairs(values):
    """``[option, value, option, value, ...]``, each value one the option accepts."""
    pair = st.sampled_from(sorted(values)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(values[name]))
    )
    return st.lists(pair, max_size=5).map(lambda drawn: [word for p in drawn for word in p])


@st.composite
def mutated(draw, words):
    """``words`` with up to two malformed words put in or put in place of one (not the command)."""
    argv = list(draw(words))
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(1, len(argv)))
        argv[k : k + draw(st.integers(0, 1))] = [draw(MALFORMED)]
    return argv


CHEAP_TRAIN = ["train", "--n", "12", "--epochs", "1", "--layers", "3", "--no-progress"]
TRAIN_ARGV = mutated(
    st.tuples(pairs(TRAIN_VALUES), st.lists(st.just("--compiled"), max_size=1)).map(
        # Cheap defaults first; an option drawn later overrides them (argparse keeps the last).
        lambda parts: [*CHEAP_TRAIN, "--out", "run", *parts[0], *parts[1]]
    )
)

GRAPH_ARGV = mutated(
    st.tuples(
        st.sampled_from(GRAPH_EXPRESSIONS),
        pairs(GRAPH_VALUES),
        st.lists(st.just("--hide-constants"), max_size=1),
    ).map(lambda parts: ["graph", parts[0][0], "--set", *parts[0][1], *parts[1], *parts[2]])
)

ERROR_LINE = re.compile(r"microgradnn( (demo|train|graph))?: (error: .+|interrupted)")


def run_in_a_fresh_folder(argv):
    """``main(argv)`` with a new empty current folder: exit status, stdout, stderr."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            Path("file").write_text("a file, not a folder")
            Path("adir.svg").mkdir()
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        finally:
            os.chdir(here)
    return code, out.getvalue(), err.getvalue()


def check_outcome(argv, code, err):
    assert isinstance(code, int), argv
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err, (argv, err)
    lines = err.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        while lines and lines[0].startswith(" "):
            lines = lines[1:]
    if code == 0:
        assert all(line.startswith("note: ") for line in lines), (argv, err)
        return
    assert len(lines) == 1, (argv, err)
    assert ERROR_LINE.fullmatch(lines[0]), (argv, err)
    assert lines[0].isprintable(), (argv, err)


def fuzz(examples):
    """Hypothesis settings: 25 trainings (about 0.4 s each) and 100 graphs run in ~15 s."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@fuzz(25)
@given(TRAIN_ARGV)
def test_train_never_ends_in_a_traceback(argv):
    code, _, err = run_in_a_fresh_folder(argv)
    check_outcome(argv, code, err)


@fuzz(100)
@given(GRAPH_ARGV)
def test_graph_never_ends_in_a_traceback(argv):
    code, out, err = run_in_a_fresh_folder(argv)
    check_outcome(argv, code, err)
    assert all(line.isprintable() for line in out.splitlines()), (argv, out)
