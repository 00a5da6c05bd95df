"""Which generated image is scored against which ground truth, and which images form FID's real set.

The logic behind the file handling of `keras-nted metrics`. A generated image pairs with

* with a released pairs file (`test_pairs.txt`): the ground truth of `B` for the release's name
  `A_2_B_vis.png` (`keras_nted.data.layout.output_name` of a listed `(source, target)`), found
  under the ground-truth folder by its path in the file (`img/.../x.jpg`, or with `.png`, as
  `keras-nted prepare-deepfashion` writes it) or by its flattened name (`fashion...jpg`, as GFLA
  stores its test set);
* without one: the ground truth of the identical file name, else, for a name `A_2_B_vis.png`,
  the ground truth `B.png` / `B.jpg` (GFLA's `preprocess_path_for_deform_task`).

Generated images are the image files directly in their folder, in sorted order, except the
`*_strip.png` pictures `keras-nted generate --strip` writes beside its results.
"""

import os

from keras_nted.data.images import open_image
from keras_nted.data.layout import find_image_file
from keras_nted.data.layout import flatten_name
from keras_nted.data.layout import output_name
from keras_nted.data.layout import read_pairs_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# What `keras-nted generate --strip` writes beside each result: not a result.
STRIP_SUFFIX = "_strip.png"


def list_image_files(folder, name, recursive=False):
    """The sorted image files in `folder` (with `recursive`, in its sub-folders too).

    Raises:
        FileNotFoundError: for a missing folder.
        ValueError: for a folder without image files.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{name} folder not found: {folder}")
    if recursive:
        files = [os.path.join(d, f) for d, _, names in os.walk(folder) for f in names]
    else:
        files = [os.path.join(folder, f) for f in os.listdir(folder)]
    files = sorted(
        f for f in files if f.lower().endswith(IMAGE_SUFFIXES) and not f.endswith(STRIP_SUFFIX) and os.path.isfile(f)
    )
    if not files:
        raise ValueError(f"Expected image files ({', '.join(IMAGE_SUFFIXES)}) in the {name} folder. Received: {folder}")
    return files


def find_listed_image(folder, image_path):
    """The file of a pairs file's `img/.../x.jpg` under `folder`, or None.

    Looked for as the path given (`folder` holding `img/`), without `img/` (`folder` being it),
    and as its flattened name (`fashion...`), each also with `.png` or `.jpg`.
    """
    candidates = [image_path, image_path[len("img/") :] if image_path.startswith("img/") else None]
    candidates.append(flatten_name(image_path))
    for candidate in candidates:
        found = candidate and find_image_file(folder, candidate)
        if found:
            return found
    return None


def _released_targets(pairs_file):
    """`{A_2_B_vis.png: B's path in the pairs file}` of a released pairs file."""
    return {
        output_name(source, target): target for _, target, sources in read_pairs_file(pairs_file) for source in sources
    }


def _target_of_name(name):
    """`A_2_B_vis.png` -> `B` (GFLA's rule), or None for another name."""
    stem = os.path.splitext(name)[0]
    if "_2_" not in stem or not stem.endswith("_vis"):
        return None
    return stem.split("_2_")[-1][: -len("_vis")]


def _ground_truth(name, folder, targets):
    """The ground-truth file of the generated file `name`, and what was looked for."""
    if targets is not None:
        target = targets.get(name)
        if target is None:
            return None, "not a result name of the pairs file"
        return find_listed_image(folder, target), f"{target} or {flatten_name(target)} (.png/.jpg)"
    if os.path.isfile(os.path.join(folder, name)):
        return os.path.join(folder, name), name
    target = _target_of_name(name)
    if target is None:
        return None, name
    for suffix in IMAGE_SUFFIXES:
        if os.path.isfile(os.path.join(folder, target + suffix)):
            return os.path.join(folder, target + suffix), f"{name} or {target}.*"
    return None, f"{name} or {target}.png/.jpg"


def pair_image_files(generated, ground_truth, pairs_file=None):
    """Pairs every generated image with its ground truth (see the module's rules).

    Args:
        generated: the folder of generated images.
        ground_truth: the folder of ground-truth images.
        pairs_file: a released pairs file (`test_pairs.txt`) naming each result's target.

    Returns:
        A list of `(generated file, ground-truth file)`, in the generated files' sorted order.

    Raises:
        FileNotFoundError: for a missing folder or pairs file.
        ValueError: for an empty folder, or generated images without a ground truth (how many,
            and the first one with what was looked for).
    """
    files = list_image_files(generated, "GENERATED")
    if not os.path.isdir(os.fspath(ground_truth)):
        raise FileNotFoundError(f"GROUND_TRUTH folder not found: {os.fspath(ground_truth)}")
    targets = _released_targets(pairs_file) if pairs_file else None
    pairs, missing = [], []
    for path in files:
        found, looked_for = _ground_truth(os.path.basename(path), os.fspath(ground_truth), targets)
        if found is None:
            missing.append((path, looked_for))
        else:
            pairs.append((path, found))
    if missing:
        path, looked_for = missing[0]
        how = f"pairs file {pairs_file}" if pairs_file else "identical names or A_2_B_vis -> B"
        raise ValueError(
            f"{len(missing)} of {len(files)} generated images have no ground truth in {os.fspath(ground_truth)} "
            f"(by {how}), e.g. {os.path.basename(path)}: looked for {looked_for}"
        )
    return pairs


def real_image_files(folder, pairs_file=None):
    """FID's real set: the images under `folder` (recursively), or only those a pairs file names.

    Args:
        folder: the real images (the training set).
        pairs_file: a released pairs file (`train_pairs.txt`): only its images (targets and
            sources), found under `folder` as `pair_image_files` finds ground truths.

    Returns:
        The sorted list of files.
    """
    if pairs_file is None:
        return list_image_files(folder, "real images", recursive=True)
    if not os.path.isdir(os.fspath(folder)):
        raise FileNotFoundError(f"real images folder not found: {os.fspath(folder)}")
    names = sorted({name for _, target, sources in read_pairs_file(pairs_file) for name in (target, *sources)})
    files, missing = [], []
    for name in names:
        found = find_listed_image(folder, name)
        (files if found else missing).append(found or name)
    if missing:
        raise ValueError(
            f"{len(missing)} of the {len(names)} images {pairs_file} names are not under {os.fspath(folder)}, "
            f"e.g. {missing[0]}"
        )
    return sorted(files)


def image_sizes(files, name):
    """`{(height, width): [files]}` of image files, from their headers (one-line errors)."""
    sizes = {}
    for path in files:
        with open_image(path, f"{name} image {path}") as image:
            width, height = image.size
        sizes.setdefault((height, width), []).append(path)
    return sizes


def one_size(files, name):
    """The `(height, width)` all `files` share; a one-line error naming two that differ."""
    sizes = image_sizes(files, name)
    if len(sizes) > 1:
        (a, files_a), (b, files_b) = list(sizes.items())[:2]
        raise ValueError(
            f"Expected {name} images of one size. Received: {len(sizes)} sizes, e.g. {files_a[0]} is "
            f"{a[0]}x{a[1]} and {files_b[0]} is {b[0]}x{b[1]}"
        )
    return next(iter(sizes))
