"""Every `keras-nted ...` line in the README's shell blocks parses with the real command line (flags, choices)."""

import pathlib
import re
import shlex

import pytest

from keras_nted.cli import parse_args

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def readme_commands():
    """The `keras-nted` command lines of the README's ```bash blocks, continuations joined, comments cut."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["keras-nted"]:
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda argv: " ".join(argv)[:60])
def test_readme_command_parses(argv, capsys):
    try:
        parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"keras-nted {' '.join(argv)}: {capsys.readouterr().err.strip()} (exit {e.code})")
