"""The public API: what `import microgradnn` offers, and what it must not pull in."""

import subprocess
import sys

import microgradnn

PUBLIC = {
    "engine": ["Value", "no_grad", "is_grad_enabled", "OPS", "Op", "define_op"],
    "gradcheck": ["gradcheck", "numerical_grad", "GradcheckError", "GradcheckResult"],
    "check_backward": ["check_backward", "BackwardCheck", "EdgeCheck"],
    "nn": ["Module", "Neuron", "Layer", "MLP", "PReLU", "Dropout", "load_model", "softmax"],
    "losses": ["mse_loss", "bce_loss", "bce_with_logits_loss", "cross_entropy_loss"],
    "more losses": ["hinge_loss", "logistic_loss", "l2_regularization", "get_loss"],
    "optim": ["SGD", "RMSProp", "Adam", "StepLR", "LinearLR", "clip_grad_norm_"],
    "data": ["make_moons", "make_xor", "load_digits", "train_test_split", "one_hot"],
    "train": ["fit", "evaluate", "predict", "accuracy", "History", "EarlyStopping"],
    "compile": ["trace", "CompiledGraph", "CompileError", "compile_model"],
    "viz": ["draw_dot", "viz"],
    "your own backprop": ["check_value_class", "ValueClassCheck", "worksheet", "grade"],
    "keras names": ["Sequential", "Dense", "Activation", "categorical_crossentropy_loss"],
}


def test_all_lists_the_public_names_once_and_they_exist():
    names = microgradnn.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(microgradnn, name), name
    for group, expected in PUBLIC.items():
        missing = set(expected) - set(names)
        assert not missing, f"{group}: {missing}"


def test_viz_exports_the_training_view_without_heavy_imports():
    code = (
        "import sys, microgradnn.viz\n"
        "assert microgradnn.viz.TrainingView.__name__ == 'TrainingView'\n"
        "heavy = {'matplotlib', 'anywidget', 'selenium', 'torch'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_version_is_a_string():
    assert isinstance(microgradnn.__version__, str)
    assert microgradnn.__version__.count(".") == 2


def test_import_needs_only_runtime_dependencies():
    code = (
        "import sys, microgradnn\n"
        "heavy = {'torch', 'matplotlib', 'sklearn', 'IPython', 'nbclient'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
