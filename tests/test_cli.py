import os
import signal
import subprocess
import sys

import keras
import pytest

from keras_nted.cli import COMMANDS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code_or_args, env_overrides=None, **kwargs):
    """A fresh process of this interpreter, with this tree on its path and a user's environment."""
    env = {**os.environ, "PYTHONPATH": REPO, **(env_overrides or {})}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)  # fmt: skip


# Help and versions for the whole command line, then what they imported.
HELP_SCRIPT = """
import sys
from keras_nted.cli import COMMANDS, main

for argv in (["--help"], ["--version"], *([name.replace("_", "-"), "--help"] for name in COMMANDS)):
    try:
        main(argv)
    except SystemExit:
        pass
print(sorted(name for name in ("keras", "tensorflow", "jax", "torch") if name in sys.modules), file=sys.stderr)
"""


def test_help_and_version_import_no_keras_nor_backend():
    stdout, stderr = _python(HELP_SCRIPT).communicate(timeout=300)
    assert stderr.strip().splitlines()[-1] == "[]", stderr[-2000:]
    assert stdout.count("usage: keras-nted") == 1 + len(COMMANDS), stdout[-2000:]
    assert "keras-nted 0.1.0 (Keras 3." in stdout, stdout[-2000:]


def test_backend_flag_selects_the_backend_and_says_what_it_loads():
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[keras.backend.backend()]
    script = (
        "import sys\nfrom keras_nted.cli import main\n"
        f"code = main(['--backend', '{other}', 'export', '--model', 'nope.keras', '-o', 'x'])\n"
        "import keras\nprint(code, keras.backend.backend())"
    )
    stdout, stderr = _python(script).communicate(timeout=300)
    assert stdout.split()[-2:] == ["2", other], stderr[-2000:]
    assert stderr.splitlines() == [
        f"keras-nted: loading Keras ({other} backend)...",
        "keras-nted export: error: Model file not found: nope.keras",
    ]
    quiet = script.replace("'--backend'", "'--quiet', '--backend'")
    assert _python(quiet).communicate(timeout=300)[1].splitlines() == [stderr.splitlines()[1]]


def test_version_names_the_backend_flag_without_loading_it():
    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[keras.backend.backend()]
    stdout, stderr = _python(["-m", "keras_nted", "--backend", other, "--version"]).communicate(timeout=300)
    assert stdout.strip() == f"keras-nted 0.1.0 (Keras {keras.__version__}, backend {other})", stderr


def test_backend_flag_cannot_change_a_loaded_keras(capsys):
    from keras_nted.cli import main

    other = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[keras.backend.backend()]
    assert main(["--backend", other, "export", "--model", "nope.keras", "-o", "x"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"--backend {other} can only be chosen before Keras is imported.")


def test_ctrl_c_while_keras_loads_is_one_line_exit_130():
    # Keras' first import waits 60 s in the child (tests/blocked_imports): the signal lands within it.
    slow = {"PYTHONPATH": os.pathsep.join([os.path.join(REPO, "tests", "blocked_imports"), REPO]),
            "KERAS_NTED_SLOW_IMPORTS": "keras"}  # fmt: skip
    # The child starts with Ctrl-C's default action, as from a terminal: a pytest-xdist worker (and any
    # job a non-interactive shell puts in the background) ignores SIGINT, and a child inherits that.
    process = _python(["-m", "keras_nted", "--backend", keras.backend.backend(), "export", "--model", "nope.keras",
                       "-o", "x"], env_overrides=slow,
                      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    first = process.stderr.readline()
    assert first.startswith("keras-nted: loading Keras"), first
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=300)
    assert process.returncode == 130, rest
    assert rest == "keras-nted: interrupted while loading Keras\n"


def test_unknown_command_and_no_command():
    from keras_nted.cli import main

    assert main([]) == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


# The spellings changed before 0.1.0 (README, "Command line"): each is now a usage error, exit 2.
OLD_SPELLINGS = [
    (["evaluate", "m.keras"], "the following arguments are required: --model"),
    (["evaluate", "--model", "m.keras", "--pairs", "3"], "unrecognized arguments: --pairs 3"),
    (["export", "m.keras", "out"], "the following arguments are required: --model, -o/--output"),
    (["export", "--model", "m.keras"], "the following arguments are required: -o/--output"),
    (["make-mannequin", "out"], "the following arguments are required: -o/--output"),
    (["make-mannequin", "-o", "out", "--size", "64x44"], "unrecognized arguments: --size 64x44"),
    (["prepare-deepfashion", "root", "--sizes", "64x44"], "unrecognized arguments: --sizes 64x44"),
    (["convert", "c.pt", "-o", "g.keras", "--image-width", "44"], "unrecognized arguments: --image-width 44"),
]


@pytest.mark.parametrize("argv, message", OLD_SPELLINGS, ids=[" ".join(argv) for argv, _ in OLD_SPELLINGS])
def test_spellings_before_0_1_0_are_usage_errors(argv, message, capsys):
    from keras_nted.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "deprecated" not in err


def test_cli_has_no_deprecation_machinery():
    import keras_nted.cli as cli

    assert not [n for n in ("note_deprecated", "deprecated_option", "deprecated_positional") if hasattr(cli, n)]


PUBLIC_NAMES_SCRIPT = """
import sys
import keras_nted

assert "keras" not in sys.modules
names = keras_nted.__all__
assert set(names) <= set(dir(keras_nted))
from keras_nted.models import NTEDGenerator  # a lazy name, loaded on use
from keras_nted import layers

assert keras_nted.models.NTEDGenerator is NTEDGenerator and layers.NTED.__name__ == "NTED"
print(names)
"""

# The README's way to load a saved model: `import keras, keras_nted` registers keras-nted's classes.
LOAD_MODEL_SCRIPT = """
import keras, keras_nted
from keras_nted.models import DEFAULT_PRESET
from keras_nted.models.preset_io import builtin_weights_path

print(type(keras.saving.load_model(builtin_weights_path(DEFAULT_PRESET), safe_mode=True)).__name__)
"""


def test_public_names_load_on_use_and_register_with_keras():
    lazy, loaded = _python(PUBLIC_NAMES_SCRIPT), _python(LOAD_MODEL_SCRIPT)
    stdout, stderr = lazy.communicate(timeout=300)
    assert lazy.returncode == 0, stderr[-2000:]
    expected = ["appearance", "callbacks", "convert", "data", "distribute", "export", "layers", "losses", "models"]
    assert stdout.strip() == str(expected)
    stdout, stderr = loaded.communicate(timeout=300)
    assert stdout.strip() == "NTEDGenerator", stderr[-2000:]
