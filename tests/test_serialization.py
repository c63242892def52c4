"""The model file: bounded checked reads, standard JSON, atomic tidy writes."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import threading

import pytest

from microgradnn import nn, serialization
from microgradnn.engine import Value
from microgradnn.module import Module
from microgradnn.nn import MLP, load_model


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def model_file(path, config, state, version=1):
    """Write a model file by hand: ``config`` and ``state`` as given, no checks."""
    data = {"format": "microgradnn", "version": version, "model": config, "state": state}
    path.write_text(json.dumps(data))
    return path


def saved(tmp_path, model=None, name="m.json"):
    path = tmp_path / name
    (model or MLP(2, [3, 1], seed=0)).save(path)
    return path, json.loads(path.read_text())


def temp_files(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".tmp"))


class BuiltError(Exception):
    """Raised by a patched constructor that load_model must not reach."""


def forbid_building(monkeypatch):
    """From here on, fail the test if anything builds a layer."""

    def refuse(*args, **kwargs):
        raise BuiltError("load_model built a layer")

    monkeypatch.setattr(nn.Layer, "__init__", refuse)


# -- counting parameters from a config, before building -----------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nin": 2, "sizes": [16, 16, 1]},
        {"nin": 3, "sizes": [4, 2], "bias": False},
        {"nin": 2, "sizes": [4, 3, 1], "activation": "prelu"},
        {"nin": 2, "sizes": [4, 3], "activation": "tanh", "output_activation": "prelu"},
        {"nin": 5, "sizes": [3, 3, 2], "activation": "prelu", "output_activation": "prelu"},
        {"nin": 2, "sizes": [4, 4, 1], "activation": "PReLU", "dropout": 0.5, "bias": False},
        {"nin": 1, "sizes": [1], "activation": "identity", "output_activation": "logistic"},
    ],
)
def test_mlp_num_parameters_matches_the_built_model(kwargs):
    model = MLP(**kwargs, seed=0)
    assert nn.mlp_num_parameters(model.config()) == model.num_parameters()
    assert nn.mlp_num_parameters({"type": "MLP", **kwargs}) == model.num_parameters()


def test_mlp_num_parameters_is_integer_arithmetic():
    config = {"type": "MLP", "nin": 10**6, "sizes": [10**6, 10**6], "activation": "prelu"}
    assert nn.mlp_num_parameters(config) == 10**6 * (10**6 + 2) + 10**6 * (10**6 + 1)


def test_huge_config_is_refused_before_building(tmp_path, monkeypatch):
    config = {"type": "MLP", "nin": 1, "sizes": [1000000000]}
    path = model_file(tmp_path / "huge.json", config, {})
    forbid_building(monkeypatch)
    assert path.stat().st_size < 200
    limit = f"{serialization.MAX_PARAMETERS:,}"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*2,000,000,000.*{limit}"):
        load_model(path)


def test_config_that_does_not_match_the_state_is_refused_before_building(tmp_path, monkeypatch):
    config = MLP(1, [3, 1], seed=0).config() | {"sizes": [100_000, 1]}
    state = {f"layers.0.neurons.0.w.{i}": 0.0 for i in range(3)}
    path = model_file(tmp_path / "short.json", config, state)
    forbid_building(monkeypatch)
    with pytest.raises(ValueError, match=r"short\.json: .*300,001 parameters.*holds 3"):
        load_model(path)


def test_small_mismatch_still_names_the_keys(tmp_path):
    path, data = saved(tmp_path)
    data["state"]["layers.9.extra"] = 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"layers\.9\.extra unexpected"):
        load_model(path)


class Pair(Module):
    def __init__(self):
        self.a = Value(1.0)
        self.b = Value(2.0)


def test_module_load_compares_counts_before_reading_values(tmp_path):
    model = Pair()
    path = tmp_path / "pair.json"
    model.save(path)
    data = json.loads(path.read_text())
    data["state"] = {"a": "not a number"}
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"pair\.json: .*b missing.*holds 1 parameter.*has 2"):
        model.load(path)
    assert (model.a.data, model.b.data) == (1.0, 2.0)


# -- the reader's bounds ------------------------------------------------------------------------


def test_file_larger_than_the_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(serialization.MAX_FILE_BYTES + 1)  # sparse: no disk space used
    monkeypatch.setattr(serialization.json, "loads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*larger than.*256 MiB"):
        load_model(path)
    with pytest.raises(ValueError, match="larger than"):
        MLP(2, [3, 1]).load(path)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_a_value_error(tmp_path, depth):
    path = tmp_path / "deep.json"
    nested = "[" * depth + "]" * depth
    path.write_text(
        '{"format": "microgradnn", "version": 1, "model": {"type": "MLP", "x": '
        + nested
        + '}, "state": {}}'
    )
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*nest.*deeper than 32"):
        load_model(path)


def test_nesting_up_to_the_limit_is_read(tmp_path):
    path = tmp_path / "deep.json"
    nested = "[" * 30 + "]" * 30  # inside the top object and "model": 32 levels
    path.write_text(
        '{"format": "microgradnn", "version": 1, "model": {"type": "MLP", "x": '
        + nested
        + '}, "state": {}}'
    )
    with pytest.raises(ValueError, match="unknown keys in the MLP description: x"):
        load_model(path)


def test_truncated_deep_json_is_a_value_error(tmp_path):
    path = tmp_path / "open.json"
    path.write_text('{"format": "microgradnn", "model": ' + "{" * 50_000)
    with pytest.raises(ValueError, match=r"open\.json: .*deeper than 32"):
        load_model(path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path, data = saved(tmp_path)
    text = '\\"' + "[{" * 5000 + "\\\\"
    key = next(iter(data["state"]))
    raw = path.read_text().replace(f'"{key}": ', f'"{key}": "{text}", "{key}x": ', 1)
    path.write_text(raw)
    assert json.loads(raw)["state"][key].startswith('"[{')
    with pytest.raises(ValueError, match=r"expected a number, got str '\"\[\{"):
        MLP(2, [3, 1], seed=0).load(path, strict=False)


@pytest.mark.parametrize(
    ("where", "number"),
    [("state", "1" * 400), ("state", "-" + "9" * 21), ("sizes", "3" * 400), ("nin", "2" * 21)],
)
def test_integer_with_too_many_digits_is_a_value_error(tmp_path, where, number):
    path, _ = saved(tmp_path)
    raw = path.read_text()
    if where == "state":
        raw = re.sub(r'("layers\.0\.neurons\.0\.w\.0": )[^,\n]+', rf"\g<1>{number}", raw)
    elif where == "sizes":
        raw = re.sub(r'"sizes": \[[^]]*\]', f'"sizes": [{number}, 1]', raw)
    else:
        raw = re.sub(r'"nin": \d+', f'"nin": {number}', raw)
    path.write_text(raw)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*more than 20 digits"):
        load_model(path)


def test_twenty_digit_integer_is_read(tmp_path):
    path, _ = saved(tmp_path)
    raw = re.sub(
        r'("layers\.0\.neurons\.0\.w\.0": )[^,\n]+', r"\g<1>-12345678901234567890", path.read_text()
    )
    path.write_text(raw)
    assert load_model(path).layers[0].neurons[0].w[0].data == -1.2345678901234567e19


@pytest.mark.parametrize("number", ["1e400", "-2.5e309", "1" * 400 + ".0"])
def test_float_too_large_is_a_value_error(tmp_path, number):
    path, _ = saved(tmp_path)
    raw = re.sub(r'("layers\.0\.neurons\.0\.w\.0": )[^,\n]+', rf"\g<1>{number}", path.read_text())
    path.write_text(raw)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*too large for a float"):
        load_model(path)


def test_state_larger_than_the_parameter_limit_is_refused(tmp_path, monkeypatch):
    path, _ = saved(tmp_path)
    monkeypatch.setattr(serialization, "MAX_PARAMETERS", 5)
    with pytest.raises(ValueError, match=r"m\.json: .*13 parameters, more than the 5"):
        MLP(2, [3, 1]).load(path)


# -- standard JSON: nan and inf -----------------------------------------------------------------


def refuse_constant(name):
    raise AssertionError(f"not standard JSON: {name}")


def test_save_writes_standard_json_for_nan_and_inf(tmp_path):
    model = MLP(1, [3], seed=0)
    values = [math.nan, math.inf, -math.inf, -0.0, 5e-324, -2.5e-310]
    for p, x in zip(model.parameters(), values, strict=True):
        p.data = x
    path = tmp_path / "m.json"
    model.save(path)
    text = path.read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    state = json.loads(text, parse_constant=refuse_constant)["state"]
    assert list(state.values())[:3] == ["nan", "inf", "-inf"]
    loaded = [p.data for p in load_model(path).parameters()]
    assert math.isnan(loaded[0])
    assert [bits(x) for x in loaded[1:]] == [bits(x) for x in values[1:]]
    other = MLP(1, [3], seed=1)
    other.load(path)
    assert [bits(p.data) for p in other.parameters()] == [bits(x) for x in loaded]


def test_file_written_by_0_1_0_with_bare_nan_and_infinity_loads(tmp_path):
    model = MLP(1, [2], seed=0)
    state = model.state_dict()
    names = list(state)
    state[names[0]], state[names[1]], state[names[2]] = math.nan, math.inf, -math.inf
    path = model_file(tmp_path / "old.json", model.config(), state)
    assert "NaN" in path.read_text()
    assert "-Infinity" in path.read_text()
    loaded = load_model(path).state_dict()
    assert math.isnan(loaded[names[0]])
    assert (loaded[names[1]], loaded[names[2]]) == (math.inf, -math.inf)
    assert loaded[names[3]] == state[names[3]]


def test_only_the_three_spellings_are_numbers(tmp_path):
    path, data = saved(tmp_path)
    data["state"]["layers.0.neurons.0.w.0"] = "NaN"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"w\.0: expected a number, got str 'NaN'"):
        load_model(path)


class Odd(Module):
    def __init__(self):
        self.w = Value(1.0)

    def config(self):
        return {"type": "Odd", "scale": math.inf}


def test_config_json_cannot_hold_is_refused_before_writing(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text("keep")
    with pytest.raises(ValueError, match=r"odd\.json: Odd\.config\(\) .*JSON"):
        Odd().save(path)
    assert path.read_text() == "keep"
    assert temp_files(tmp_path) == []


# -- the header and the config's types ----------------------------------------------------------


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_version_must_be_the_integer_1(tmp_path, version):
    path, data = saved(tmp_path)
    data["version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: model file version"):
        load_model(path)
    with pytest.raises(ValueError, match="is not supported"):
        MLP(2, [3, 1], seed=0).load(path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("bias", "no"),
        ("bias", 1),
        ("nin", "2"),
        ("nin", 2.0),
        ("nin", True),
        ("sizes", "abc"),
        ("sizes", [3.0, 1]),
        ("sizes", {"a": 1}),
        ("activation", None),
        ("activation", 5),
        ("output_activation", 5),
        ("output_activation", ["relu"]),
        ("dropout", "0.5"),
        ("dropout", False),
    ],
)
def test_wrong_type_in_config_is_a_value_error_naming_the_key(tmp_path, monkeypatch, key, value):
    path, data = saved(tmp_path)
    data["model"][key] = value
    path.write_text(json.dumps(data))
    forbid_building(monkeypatch)
    named = rf"\b{key}(\[\d+\])?: expected"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*{named}"):
        load_model(path)
    with pytest.raises(ValueError, match=named):
        MLP.from_config(data["model"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("output_activation", "relu6", "output_activation: expected one of"),
        ("dropout", 1.0, r"dropout: expected a number in \[0, 1\)"),
        ("sizes", [], "sizes: expected at least one"),
        ("nin", 0, "nin: expected an integer >= 1, got 0"),
        ("nin", None, "nin: expected an integer >= 1, got NoneType None"),
    ],
)
def test_wrong_value_in_config_names_the_key(tmp_path, key, value, message):
    path, data = saved(tmp_path)
    data["model"][key] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*{message}"):
        load_model(path)


def test_config_missing_a_key_names_it():
    with pytest.raises(ValueError, match="missing keys: nin"):
        MLP.from_config({"type": "MLP", "sizes": [1]})


# -- permissions, symlinks ----------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_resave_keeps_the_files_permissions(tmp_path):
    path, _ = saved(tmp_path)
    os.chmod(path, 0o600)
    MLP(2, [3, 1], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o640)
    MLP(2, [3, 1], seed=2).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_new_file_gets_the_default_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        MLP(2, [3, 1], seed=0).save(tmp_path / "new.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_save_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    target, _ = saved(tmp_path / "models", name="real.json")
    link = tmp_path / "link.json"
    link.symlink_to(os.path.join("models", "real.json"))
    chain = tmp_path / "chain.json"
    chain.symlink_to("link.json")
    model = MLP(2, [3, 1], seed=5)
    model.save(chain)
    assert chain.is_symlink()
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("models", "real.json")
    assert load_model(target).state_dict() == model.state_dict()
    assert temp_files(tmp_path) == []
    assert temp_files(tmp_path / "models") == []


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_save_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to("later.json")
    MLP(2, [3, 1], seed=0).save(link)
    assert link.is_symlink()
    assert (tmp_path / "later.json").is_file()


def test_model_too_large_for_a_file_is_refused_before_writing(tmp_path, monkeypatch):
    path, _ = saved(tmp_path)
    before = path.read_bytes()
    monkeypatch.setattr(serialization, "MAX_PARAMETERS", 10)
    with pytest.raises(ValueError, match=r"m\.json: .*13 parameters, more than the 10"):
        MLP(2, [3, 1], seed=1).save(path)
    monkeypatch.setattr(serialization, "MAX_PARAMETERS", 100)
    monkeypatch.setattr(serialization, "MAX_FILE_BYTES", 300)
    with pytest.raises(ValueError, match=r"m\.json: .*larger than the 300 bytes"):
        MLP(2, [3, 1], seed=1).save(path)
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_threads_saving_the_same_file_do_not_collide(tmp_path):
    path = tmp_path / "m.json"
    models = [MLP(2, [3, 1], seed=i) for i in range(8)]
    errors = []

    def save(model):
        try:
            for _ in range(5):
                model.save(path)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert load_model(path).state_dict() in [m.state_dict() for m in models]
    assert temp_files(tmp_path) == []


# -- killed saves -------------------------------------------------------------------------------

SLOW_SAVE = textwrap.dedent(
    """
    import os, sys, time
    from microgradnn.nn import MLP

    def slow_fsync(fd):  # the temporary file is written, not yet renamed over the target
        print("writing", flush=True)
        time.sleep(60)

    os.fsync = slow_fsync
    MLP(2, [3, 1], seed=1).save(sys.argv[1])
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_saves_never_corrupt_and_leave_no_pile_of_temp_files(tmp_path):
    path, _ = saved(tmp_path)
    before = path.read_bytes()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SLOW_SAVE, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(10)
    ]
    try:
        for child in children:
            assert child.stdout.readline() == "writing\n"
        assert len(temp_files(tmp_path)) == 10
        assert path.read_bytes() == before
    finally:
        for child in children:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
    assert path.read_bytes() == before
    assert load_model(path).state_dict() == MLP(2, [3, 1], seed=0).state_dict()
    assert len(temp_files(tmp_path)) == 10
    model = MLP(2, [3, 1], seed=2)
    model.save(path)
    assert temp_files(tmp_path) == []
    assert load_model(path).state_dict() == model.state_dict()


@pytest.mark.skipif(os.name != "posix", reason="process ids")
def test_temp_files_of_live_writers_and_other_targets_are_kept(tmp_path):
    path, _ = saved(tmp_path)
    live = tmp_path / f".m.json.{os.getppid()}.0123abcd.tmp"
    other = tmp_path / ".m.json.7.99999999.0123abcd.tmp"
    unrelated = tmp_path / ".n.json.99999999.0123abcd.tmp"
    for f in (live, other, unrelated):
        f.write_text("x")
    MLP(2, [3, 1], seed=1).save(path)
    assert temp_files(tmp_path) == sorted(f.name for f in (live, other, unrelated))
