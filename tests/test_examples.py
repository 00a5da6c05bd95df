"""The notebooks in examples/ run top to bottom and write what they promise.

To keep CI short each notebook runs on one backend only, rotating: notebook `i` (in file-name
order) runs when `KERAS_BACKEND` is `BACKENDS[i % 3]`, in a kernel with that backend, with
small settings injected after its `parameters` cell.
"""

import os
import pathlib

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BACKENDS = ("tensorflow", "jax", "torch")
# notebook -> (settings run after its parameters cell, files it must write)
NOTEBOOKS = {
    "01_quickstart.ipynb": (
        {"STEPS": 3},
        ["quickstart_output/generator.keras", "quickstart_output/results.png", "quickstart_output/task.png"],
    ),
    "02_nted_in_your_model.ipynb": ({"STEPS": 3}, ["nted_model_output/textures.png"]),
    "03_convert_released_checkpoint.ipynb": ({}, ["convert_output/converted.keras"]),
    "04_export_for_serving.ipynb": (
        {"PAIRS": 2},
        ["serving_output/nted/1/saved_model.pb", "serving_output/served.png"],
    ),
    "05_appearance_control.ipynb": (
        {"STEPS": 20, "PAIRS": 1},
        ["appearance_output/appearance_control.png", "appearance_output/coefficients.npz"],
    ),
}


def _notebook_tools():
    try:
        import nbclient
        import nbformat
    except ImportError as e:
        message = f"executing the notebooks needs nbclient, nbformat and ipykernel (pip install -e '.[dev]'): {e}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return nbclient, nbformat


def test_every_notebook_is_executed_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("index, name", list(enumerate(sorted(NOTEBOOKS))), ids=sorted(NOTEBOOKS))
def test_notebook_runs(index, name, tmp_path, monkeypatch):
    backend = keras.backend.backend()
    if BACKENDS[index % 3] != backend:
        pytest.skip(
            f"notebook {index} runs on backend {index} % 3 = {BACKENDS[index % 3]} only "
            "(each notebook on one backend, rotating, to keep CI time down)"
        )
    nbclient, nbformat = _notebook_tools()
    settings, outputs = NOTEBOOKS[name]
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(notebook)
    tagged = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    if settings:
        source = "\n".join(f"{key} = {value!r}" for key, value in settings.items())
        notebook.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(source))
    # The kernel inherits this environment: the backend under test and this checkout's package.
    monkeypatch.setenv("KERAS_BACKEND", backend)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell's traceback, on any error
    for output in outputs:
        assert (tmp_path / output).is_file(), f"{name} did not write {output}"
    kernel_backend = [
        out.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    ]
    assert any(backend in text for text in kernel_backend), f"{name} did not report running on {backend}"
    for output in outputs:
        if output.endswith(".png"):
            _check_labelled(_read_png((tmp_path / output).read_bytes()), f"{name}: {output}")
    _check_quiet(name, notebook.cells)


# Notebooks that show pictures (03 compares numbers only).
WITH_PICTURES = (
    "01_quickstart.ipynb",
    "02_nted_in_your_model.ipynb",
    "04_export_for_serving.ipynb",
    "05_appearance_control.ipynb",
)
NOT_PUBLIC = ("keras_nted.cli", "keras_nted.commands", "keras_nted.backend", "../shared", "KERAS_NTED_SHARED")


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_stored_as_a_reader_sees_it(name):
    """Stored executed (outputs and pictures in place), the backend chosen first, public API only."""
    import json
    import re

    cells = [cell for cell in json.loads((EXAMPLES / name).read_text())["cells"] if cell["cell_type"] == "code"]
    first = "".join(cells[0]["source"])
    assert 'os.environ.setdefault("KERAS_BACKEND"' in first and "import keras" not in first, first
    unexecuted = [i for i, cell in enumerate(cells) if not cell.get("execution_count")]
    assert not unexecuted, f"{name}: code cells {unexecuted} are stored without being run"
    assert all(out.get("output_type") != "error" for cell in cells for out in cell.get("outputs", []))
    pictures = sum("image/png" in out.get("data", {}) for cell in cells for out in cell.get("outputs", []))
    assert (pictures > 0) == (name in WITH_PICTURES), f"{name}: {pictures} stored pictures"
    source = "\n".join("".join(cell["source"]) for cell in cells)
    assert not [word for word in NOT_PUBLIC if word in source], f"{name} reaches past the public API"
    assert not re.findall(r"from keras_nted[\w.]* import [^\n]*\b_[a-z]|keras_nted(\.\w+)*\._[a-z]", source)


# The smallest mannequin picture is 64x44; figures show it at least 4x (nearest neighbour).
MIN_HEIGHT = 4 * 64


def _read_png(data):
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].astype(int)


def _header_band(picture):
    """Height of `visualize.label_columns`' header: the leading rows of grey pixels only."""
    import numpy as np

    coloured = (np.ptp(picture, axis=-1) > 0).any(axis=1)
    return int(np.argmax(coloured)) if coloured.any() else picture.shape[0]


def _check_labelled(picture, where):
    band = _header_band(picture)
    assert band >= 10 and (picture[0] == 255).all(), f"{where}: no white header band naming the columns"
    assert (picture[:band] < 100).all(axis=-1).sum() > 20, f"{where}: the header band holds no text"
    assert picture.shape[0] - band >= MIN_HEIGHT, f"{where}: {picture.shape[0] - band} rows, not enlarged 4x"


def _check_quiet(name, cells):
    """No progress bars: at most one summary line per `fit` (verbose=2), never a bar's updates."""
    import re

    text = "".join(
        "".join(out.get("text", ""))
        for cell in cells
        if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )
    progress = [line for line in re.split(r"[\r\n]", text) if re.match(r"\s*\d+/\d+ ", line)]
    assert len(progress) <= 1 and "\u2501" not in text and "\x08" not in text, f"{name}: progress bars {progress}"


def _stored(name):
    import base64
    import json

    cells = json.loads((EXAMPLES / name).read_text())["cells"]
    pictures = [
        _read_png(base64.b64decode(out["data"]["image/png"]))
        for cell in cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    text = "".join("".join(out.get("text", "")) for cell in cells for out in cell.get("outputs", []))
    return cells, pictures, text


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_stored_pictures_are_labelled_and_outputs_quiet(name):
    cells, pictures, _ = _stored(name)
    for i, picture in enumerate(pictures):
        _check_labelled(picture, f"{name} picture {i}")
    _check_quiet(name, cells)


def _columns(picture, count):
    body = picture[_header_band(picture) :]
    width = body.shape[1] // count
    return [body[:, i * width : (i + 1) * width] for i in range(count)]


def test_stored_texture_swap_shows_two_people():
    """02: persons A and B differ, and so do the renders with their textures (the swap shows)."""
    _, pictures, _ = _stored("02_nted_in_your_model.ipynb")
    person_a, person_b, _, with_a, with_b, _ = _columns(pictures[0], 6)
    assert abs(person_a - person_b).mean() > 30, "02: persons A and B look alike"
    assert abs(with_a - with_b).mean() > 15, "02: the renders with A's and B's textures look alike"


def test_stored_appearance_control_changes_the_garment():
    """05: inside the top, the result's mean colour is far from the person's own render."""
    import re

    import numpy as np

    _, _, text = _stored("05_appearance_control.ipynb")
    colours = dict(re.findall(r"mean colour inside the top, ([^:]+): \[([^\]]+)\]", text))
    before, after = (np.array(colours[key].split(), float) for key in ("B's render", "step 40"))
    assert abs(after - before).mean() > 50, f"05: the top moved {abs(after - before).mean():.1f} levels"
    assert float(re.search(r"inside margin ([-\d.]+)", text)[1]) > 0.2


def test_stored_quickstart_shows_a_trained_model():
    """01: the re-posed people come from a trained model, near the ground truth, not noise."""
    _, pictures, _ = _stored("01_quickstart.ipynb")
    columns = _columns(pictures[0], 9)  # reference, pose, shipped model, truth, 4 attention, STEPS steps
    shipped, ten_steps = (abs(columns[i] - columns[3]).mean() for i in (2, 8))
    assert shipped < 20 and shipped < ten_steps / 3, f"01: shipped model {shipped:.1f}, 10 steps {ten_steps:.1f}"
