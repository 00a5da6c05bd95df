"""Photos in: keypoints of photo files, skeleton pictures, and two photos -> a re-posed image.

The rule for photos with several people: people are ordered by the detector's confidence, and
person 0 (the most confident) is used unless `person` names another; a photo with nobody in
it is an error wherever one person is needed.
"""

import os
import warnings

import numpy as np

from keras_nted.data.images import read_image
from keras_nted.data.keypoints import openpose_keypoints_2d
from keras_nted.data.keypoints import pixels_to_deepfashion
from keras_nted.data.skeleton import render_skeleton
from keras_nted.pose.estimator import as_rgb_array
from keras_nted.pose.framing import frame_person
from keras_nted.utils.openpose import MISSING
from keras_nted.utils.validation import check_int

# Skeleton pictures are drawn at most this large on their long side (the photo is shrunk).
PICTURE_MAX_SIDE = 1024


def read_photo(path):
    """A photo file -> `(height, width, 3)` uint8 RGB (one-line errors naming the file)."""
    return np.asarray(read_image(path, f"image {os.fspath(path)}", "RGB"))


def choose_person(people, person=None, name="the photo"):
    """`people[person]` (default 0, the most confident), with one-line errors.

    Raises:
        ValueError: when nobody was found, or `person` is out of range.
    """
    if not people:
        raise ValueError(f"No person found in {name}.")
    index = 0 if person is None else check_int("person", person, minimum=0)
    if index >= len(people):
        raise ValueError(f"{len(people)} people found in {name}; there is no person {index} (counted from 0).")
    return people[index]


def openpose_people(people):
    """`{"version": 1.3, "people": [...]}` as OpenPose writes it: 18 `x, y, confidence` per person.

    Missing points are `0, 0, 0`, so readers that treat confidence 0 as missing
    (`keras_nted.data.read_openpose_json`) read them back as missing.
    """
    entries = [{"pose_keypoints_2d": openpose_keypoints_2d(p.keypoints, p.confidence, (3, 4))} for p in people]
    return {"version": 1.3, "people": entries}


def skeleton_picture(image, people):
    """The people's COCO-18 skeletons drawn over a dimmed copy of `image`, uint8 RGB.

    Drawn with the model's own skeleton colours (`render_skeleton`), on the photo shrunk to at
    most `PICTURE_MAX_SIDE` pixels on its long side.
    """
    import cv2

    image = as_rgb_array(image)
    height, width = image.shape[:2]
    scale = min(1.0, PICTURE_MAX_SIDE / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if scale < 1:
        image = cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA)
    factor = np.array([size[1] / width, size[0] / height])
    picture = (image.astype("float32") * 0.6).astype(np.uint8)
    for p in people:
        keypoints = np.where(p.keypoints == MISSING, MISSING, p.keypoints * factor)
        colors = np.rint(render_skeleton(keypoints, size, frame="pixels")[..., :3] * 255).astype(np.uint8)
        drawn = colors.any(axis=-1)
        picture[drawn] = colors[drawn]
    return picture


def framed_photo(estimator, image, person=None, name="the photo"):
    """A photo framed around one of its people (see `keras_nted.pose.framing`): a `Framing`."""
    chosen = choose_person(estimator(image), person, name)
    return frame_person(image, chosen.keypoints)


def repose(generator, reference, pose, estimator=None, person=None, pose_person=None):
    """The person of photo `reference` re-rendered in the pose of the person in photo `pose`.

    Both photos are framed around their person (`frame_person`); the framed reference and the
    pose's keypoints, in the released pose-file frame, go through `PoseTransfer.predict`.

    Args:
        generator: an `NTEDGenerator`, or a `PoseTransfer` around one.
        reference: `(height, width, 3)` uint8 RGB photo of the person to re-pose.
        pose: `(height, width, 3)` uint8 RGB photo of someone in the target pose.
        estimator: a `PoseEstimator` (default: a new one on the cached model files).
        person, pose_person: which person of each photo (default: the most confident).

    Returns:
        `(height, width, 3)` uint8 at the generator's size.

    Warns:
        UserWarning: a task made by `PoseTransfer.from_preset` of a mannequin-trained built-in model
            (`keras_nted.models.presets.photo_note`: trained on renders, and how to get a DeepFashion model).

    Raises:
        ValueError: when a photo has nobody in it (or not that many people).
    """
    from keras_nted.models.pose_transfer import as_pose_transfer
    from keras_nted.pose.estimator import PoseEstimator

    task = as_pose_transfer(generator)
    if task.photo_note:
        warnings.warn(task.photo_note, stacklevel=2)
    estimator = estimator or PoseEstimator()
    source = framed_photo(estimator, as_rgb_array(reference, "reference"), person, "the reference photo")
    target = framed_photo(estimator, as_rgb_array(pose, "pose"), pose_person, "the pose photo")
    keypoints = pixels_to_deepfashion(target.keypoints, target.image.shape[:2])
    return task.predict(source.image, keypoints, keypoints_frame="deepfashion")[0]


def frame_photo_files(references, pose_photos, folder, estimator, reference_person=None, pose_person=None):
    """Photo files -> framed reference images and pose files that `keras_nted.generation` reads.

    Each reference photo is framed around its person and written as `folder/references/<stem>.png`;
    each pose photo's person, framed the same way, is written as a released-style pose file
    `folder/poses/<stem>.txt` (the `"deepfashion"` frame, which any reference of the model's
    aspect shares). Every photo is estimated before anything is written.

    Args:
        references, pose_photos: photo file paths.
        folder: where to write (e.g. a temporary folder).
        estimator: a `PoseEstimator`.
        reference_person, pose_person: which person of each photo (default: the most confident).

    Returns:
        `(reference paths, pose paths)`, in the order given.

    Raises:
        ValueError: for a photo without a person (or without that many), or two photos of one
            kind with the same file stem.
    """
    from keras_nted.data.keypoints import write_pose_file
    from keras_nted.files import write_png

    jobs = []
    for kind, paths, person, suffix in (
        ("references", references, reference_person, ".png"),
        ("poses", pose_photos, pose_person, ".txt"),
    ):
        seen = {}
        for path in dict.fromkeys(os.fspath(p) for p in paths):
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem in seen:
                raise ValueError(f"{seen[stem]} and {path} have the same name {stem}: rename one.")
            seen[stem] = path
            framing = framed_photo(estimator, read_photo(path), person, path)
            jobs.append((path, os.path.join(folder, kind, stem + suffix), framing))
    written = {}
    for path, target, framing in jobs:
        if target.endswith(".png"):
            write_png(target, framing.image)
        else:
            write_pose_file(target, pixels_to_deepfashion(framing.keypoints, framing.image.shape[:2]))
        written[(target.endswith(".png"), path)] = target
    return (
        [written[(True, os.fspath(p))] for p in references],
        [written[(False, os.fspath(p))] for p in pose_photos],
    )
