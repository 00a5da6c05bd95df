"""The released DeepFashion layout on disk: pairs files, pose files, image files, LMDB keys, result names.

A root in the released layout holds `train_pairs.txt` and `test_pairs.txt` (one line per target
image, `target,source1,source2,...`, with paths like `img/WOMEN/Dresses/id_00006288/01_1_front.jpg`)
and `pose/...txt`, the keypoints of `img/....jpg`. The DeepFashion loader reads it
(`keras_nted.data.DeepFashionDataset`), `keras-nted prepare-deepfashion` adds the sized images and
`keras_nted.data.mannequin.write_mannequin_dataset` writes it.
"""

import os

PAIRS_FILES = {"train": "train_pairs.txt", "test": "test_pairs.txt"}


def read_pairs_file(path):
    """Reads a released pairs file.

    Args:
        path: a `train_pairs.txt` / `test_pairs.txt` file: one line per target image,
            `target,source1,source2,...`. Blank lines are ignored.

    Returns:
        A list of `(line_number, target, sources)` with 1-based line numbers and `sources` a
        tuple of one or more paths.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file and line, for a line without a source.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Pairs file not found: {path}")
    lines = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            names = [name.strip() for name in line.strip().split(",")]
            if names == [""]:
                continue
            if len(names) < 2 or not all(names):
                raise ValueError(
                    f"{path}:{number}: expected 'target,source1,source2,...' with at least one "
                    f"source. Received: {line.strip()!r}"
                )
            lines.append((number, names[0], tuple(names[1:])))
    return lines


def write_pairs_file(path, pairs):
    """Writes a released-style pairs file.

    Args:
        path: the file to write (parent folders are created).
        pairs: iterable of `(target, sources)` with `sources` a sequence of image paths.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for target, sources in pairs:
            if isinstance(sources, str) or not sources:
                raise ValueError(
                    f"Expected a non-empty sequence of source paths. Received: sources={sources!r} "
                    f"for target {target!r}"
                )
            f.write(",".join([target, *sources]) + "\n")


def pose_path(root, image_path):
    """The pose `.txt` file of an image: `img/A/B.jpg` -> `<root>/pose/A/B.txt`."""
    relative = image_path[len("img/") :] if image_path.startswith("img/") else image_path
    return os.path.join(os.fspath(root), "pose", os.path.splitext(relative)[0] + ".txt")


def find_image_file(folder, image_path):
    """The file of `image_path` under `folder`: the path as given, else with `.png`, else `.jpg`.

    Returns:
        The existing file's path, or None.
    """
    stem = os.path.join(folder, os.path.splitext(image_path)[0])
    for candidate in (os.path.join(folder, image_path), stem + ".png", stem + ".jpg"):
        if os.path.isfile(candidate):
            return candidate
    return None


def lmdb_key(image_path):
    """The released LMDB key of an image: its path with the `.png` extension."""
    return os.path.splitext(image_path)[0] + ".png"


def flatten_name(image_path):
    """The flattened DeepFashion file name the released code writes results under.

    `img/WOMEN/Dresses/id_00006288/01_1_front.png` -> `fashionWOMENDressesid0000628801_1front.png`:
    the `img/` prefix dropped, `fashion` prepended, the id folder's underscores removed, only the
    first underscore of the file name kept, and the parts concatenated.
    """
    parts = image_path.split("/")
    if parts[0] == "img":
        parts = parts[1:]
    if len(parts) > 1:
        parts[-2] = parts[-2].replace("_", "")
    head, *rest = parts[-1].split("_")
    parts[-1] = head + ("_" + "".join(rest) if rest else "")
    return "fashion" + "".join(parts)


def output_name(source, target):
    """The released result file name `<source>_2_<target>_vis.png` of a pair (flattened names)."""
    source_name = os.path.splitext(flatten_name(source))[0]
    target_name = os.path.splitext(flatten_name(target))[0]
    return f"{source_name}_2_{target_name}_vis.png"
