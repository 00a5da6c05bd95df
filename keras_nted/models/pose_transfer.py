"""`PoseTransfer`: the pose-transfer task, from reference images and target keypoints to uint8 images.

In KerasHub's form: a task is a `keras.Model` around a backbone (here the `NTEDGenerator`,
`generator`) with a `preprocessor` (a `PoseTransferPreprocessor`), `from_preset` /
`save_to_preset`, and a `predict` that takes what a user has. It is the one composer of
inference: `keras-nted generate` (`keras_nted.generation`), the demo, `keras_nted.pose.repose`,
`keras-nted control`'s inputs and the export all go through it, so every route gives the same
pixels for the same inputs.
"""

import os
import pathlib
import warnings

import keras
import numpy as np
from keras import ops

from keras_nted.layers.framed_resize import FramedResize
from keras_nted.layers.skeleton_renderer import SkeletonRenderer
from keras_nted.models import preset_io
from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.generator import load_generator
from keras_nted.models.pose_transfer_preprocessor import PoseTransferPreprocessor
from keras_nted.models.presets import photo_note
from keras_nted.utils.images import ops_from_uint8
from keras_nted.utils.images import ops_to_uint8
from keras_nted.utils.validation import check_int


def run_generator(generator, reference_image, skeleton):
    """The generator's outputs as numpy arrays, from one compiled call (`predict_on_batch`).

    Compiled, not eager: on JAX an eager call of the generator is many times slower.
    """

    out = generator.predict_on_batch([np.asarray(reference_image, "float32"), np.asarray(skeleton, "float32")])
    # Under TensorFlow's multi-worker strategy every worker predicts the batch it was given and
    # Keras concatenates all workers' outputs: each worker keeps its own (the first) rows.
    n = len(reference_image)
    return {
        "image": np.asarray(out["image"], "float32")[:n],
        "extraction_softmax": [np.asarray(x)[:n] for x in out["extraction_softmax"]],
        "distribution_logits": [np.asarray(x)[:n] for x in out["distribution_logits"]],
    }


@keras.saving.register_keras_serializable(package="keras_nted")
class PoseTransfer(keras.Model):
    """Re-renders people of reference images in target poses: images and keypoints in, uint8 images out.

    The task of NTED (Ren et al., CVPR 2022), in KerasHub's form: a `keras.Model` around an
    `NTEDGenerator` (the backbone, `generator`) with the released preprocessing and
    postprocessing (`preprocessor`, a `PoseTransferPreprocessor`). `predict()` takes reference
    photos of any size and target keypoints in a stated frame (or pose files) and returns uint8
    images, the same pixels as `keras-nted generate` writes for the same inputs and batch size.
    Calling the task on model inputs is the generator's forward pass; `serve()` is the same in
    `keras.ops` from uint8 images and pixel keypoints (the export's signature).

    The preprocessing (PIL's bilinear resize, the skeleton renderer) runs on the host, as the
    release's does; that is what makes the pixels equal the release's.

    Args:
        generator: an `NTEDGenerator`.
        preprocessor: a `PoseTransferPreprocessor` (default: one at `generator.image_size`).
        **kwargs: `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: `[reference_image, target_skeleton]` (or a dict with those keys):
            `(batch, H, W, 3)` in `[-1, 1]` and `(batch, H, W, 20)`, the preprocessor's outputs.
        training: passed to the generator.

    Returns:
        Called: the generated images `(batch, H, W, 3)` in about `[-1, 1]`.

    Example:
    >>> task = PoseTransfer.from_preset("nted_tiny")  # random weights: a shape check
    >>> reference = np.zeros((256, 176, 3), "uint8")  # any size; resized to the model's 64x44
    >>> keypoints = np.full((2, 18, 2), -1.0)  # two target poses, all points missing
    >>> task.predict(reference, keypoints, keypoints_frame="pixels").shape
    (2, 64, 44, 3)
    """

    def __init__(self, generator, preprocessor=None, **kwargs):
        if not isinstance(generator, NTEDGenerator):
            raise ValueError(f"Expected an NTEDGenerator. Received: generator={type(generator).__name__}")
        if preprocessor is None:
            preprocessor = PoseTransferPreprocessor(generator.image_size)
        if not isinstance(preprocessor, PoseTransferPreprocessor):
            raise ValueError(
                f"Expected a PoseTransferPreprocessor. Received: preprocessor={type(preprocessor).__name__}"
            )
        if tuple(preprocessor.image_size) != tuple(generator.image_size):
            raise ValueError(
                f"Expected a preprocessor at the generator's image size {generator.image_size}. "
                f"Received: preprocessor.image_size={preprocessor.image_size}"
            )
        super().__init__(**{"name": "pose_transfer", **kwargs})
        self.generator = generator
        self.preprocessor = preprocessor
        self.renderer = SkeletonRenderer(*generator.image_size, name="skeleton_renderer")
        # Set by `from_preset` for a mannequin-trained built-in model (`presets.photo_note`): what the
        # photo paths (`keras_nted.pose.repose`) say once. Not saved with the task.
        self.photo_note = None
        self._photo_models = {}  # pose model id -> photo_model(pose model), built once
        self.built = True  # the generator is built: the task has no weights of its own

    @property
    def image_size(self):
        """`(height, width)` of the images the task makes."""
        return tuple(self.generator.image_size)

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            inputs = [inputs["reference_image"], inputs["target_skeleton"]]
        return self.generator(list(inputs), training=training)["image"]

    def serve(self, reference_image, keypoints):
        """uint8 references and pixel keypoints -> uint8 images, in `keras.ops` (no host steps).

        The export's `serving_default`: the skeleton is drawn by `SkeletonRenderer`, the
        reference mapped to `[-1, 1]` and the result to uint8 as `predict` maps them.

        Args:
            reference_image: uint8 `(batch, H, W, 3)` at the model's size.
            keypoints: float32 `(batch, 18, 2)` `(x, y)` in the model's pixels, `-1` for missing.
        """
        image = self.generator([ops_from_uint8(reference_image), self.renderer(keypoints)], training=False)["image"]
        return ops_to_uint8(image)

    def photo_model(self, pose_model):
        """Two photos -> the re-posed image, as one Keras model (the export's `two_photos`).

        `pose_model` (`keras_nted.pose.pose_pipeline()`, at the model's aspect) finds each photo's
        person; the reference photo is framed around its person and resized to the model's size
        (`FramedResize`: the pixels `keras-nted generate --pose-from` reads), the pose photo's
        framed keypoints are scaled to the model's pixels, and `serve` draws and generates.

        Args:
            pose_model: a `keras.Model` from uint8 photos to a dict with `found`, `box`,
                `framed_keypoints` and `fill_color` (as `pose_pipeline` returns).

        Returns:
            A `keras.Model` from `[reference_photo, pose_photo]`, uint8 `(batch, H, W, 3)` of any
            size (one size per input), to a dict: `image` uint8 `(batch, height, width, 3)`,
            `keypoints` `(batch, 18, 2)` (the target pose in the image's pixels, `-1` where
            missing), `reference_found` and `pose_found` `(batch,)` bool (a person found and
            framed; where not, `image` is meaningless).
        """
        height, width = self.image_size
        photos = [keras.Input((None, None, 3), dtype="uint8", name=n) for n in ("reference_photo", "pose_photo")]
        reference, pose = (pose_model(photo) for photo in photos)
        image = FramedResize(height, width, name="framed_reference")(
            [photos[0], reference["box"], reference["fill_color"]]
        )
        box = pose["box"]
        scale = ops.divide(np.float32([width, height]), ops.maximum(box[:, None, 2:] - box[:, None, :2], 1.0))
        framed = pose["framed_keypoints"]
        keypoints = ops.where(framed == -1.0, -1.0, framed * scale)

        def found(out):
            return ops.logical_and(out["found"], out["box"][:, 2] > out["box"][:, 0])

        outputs = {
            "image": self.serve(image, keypoints),
            "keypoints": keypoints,
            "reference_found": found(reference),
            "pose_found": found(pose),
        }
        return keras.Model(photos, outputs, name="pose_transfer_from_photos")

    def predict_from_photos(self, reference_photo, pose_photo, pose_model):
        """The person of `reference_photo` in the pose of the person in `pose_photo`, in one graph.

        The in-graph counterpart of `keras_nted.pose.repose` (LiteRT and numpy): no `[pose]` extra,
        any backend. The most confident person of each photo is used.

        Args:
            reference_photo, pose_photo: uint8 RGB `(H, W, 3)` photos, any size each.
            pose_model: `keras_nted.pose.pose_pipeline()` (or a model with its outputs); see `photo_model`.

        Returns:
            `(image, keypoints)`: uint8 `(height, width, 3)` and the target keypoints `(18, 2)` in
            its pixels.

        Warns:
            UserWarning: a task from `from_preset` of a mannequin-trained built-in model (`photo_note`).

        Raises:
            ValueError: for a photo that is not `(H, W, 3)` uint8, or has no person in it.
        """
        if self.photo_note:
            warnings.warn(self.photo_note, stacklevel=2)
        photos = []
        for name, photo in (("reference_photo", reference_photo), ("pose_photo", pose_photo)):
            array = np.asarray(photo)
            if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8 or min(array.shape[:2]) < 1:
                raise ValueError(
                    f"Expected {name} as uint8 (height, width, 3). Received: {name} of shape {array.shape}, "
                    f"dtype {array.dtype}"
                )
            photos.append(array[None])
        model = self._photo_models.get(id(pose_model))
        if model is None:
            model = self._photo_models[id(pose_model)] = self.photo_model(pose_model)
        out = model.predict_on_batch(photos)
        for key, name in (("reference_found", "the reference photo"), ("pose_found", "the pose photo")):
            if not bool(np.asarray(out[key])[0]):
                raise ValueError(f"No person found in {name}.")
        return np.asarray(out["image"])[0], np.asarray(out["keypoints"])[0]

    def serve_skeleton(self, reference_image, target_skeleton):
        """The forward pass as float32 (the export's `generate_from_skeleton`)."""
        return ops.cast(self.generator([reference_image, target_skeleton], training=False)["image"], "float32")

    def predict_on_inputs(self, reference_image, target_skeleton, pad_to=None):
        """One compiled generator call on preprocessed inputs -> uint8 images `(batch, H, W, 3)`.

        Args:
            reference_image: `(batch, H, W, 3)` in `[-1, 1]` (the preprocessor's `reference_image`).
            target_skeleton: `(batch, H, W, 20)` (its `target_skeleton`).
            pad_to: run a batch of this many rows (the last one repeated), so that every call
                of a long run has one shape and the model is compiled once.
        """
        count = len(reference_image)
        inputs = [np.asarray(reference_image, "float32"), np.asarray(target_skeleton, "float32")]
        if pad_to is not None and pad_to > count:
            inputs = [np.concatenate([x, np.repeat(x[-1:], pad_to - count, axis=0)]) for x in inputs]
        return self.preprocessor.postprocess(run_generator(self.generator, *inputs)["image"][:count])

    def predict_batches(self, count, inputs, batch_size=8):
        """The batching of `predict`, for inputs made one batch at a time (files, streams).

        Batches keep one shape: with more than `batch_size` rows, every call is padded to
        `batch_size` rows, so the model is compiled once.

        Args:
            count: how many rows in all.
            inputs: `inputs(start, stop)` -> `(reference_image, target_skeleton)` of rows
                `start:stop`, preprocessed (`PoseTransferPreprocessor.reference_image` /
                `target_skeleton`).
            batch_size: rows per generator call.

        Returns:
            An iterator of `(start, reference_image, target_skeleton, images)` per batch,
            `images` uint8 `(rows, H, W, 3)`.

        Raises:
            ValueError: for a `batch_size` that is not a positive integer (before any batch).
        """
        batch_size = check_int("batch_size", batch_size)
        pad_to = batch_size if count > batch_size else None

        def batches():
            for start in range(0, count, batch_size):
                references, skeletons = inputs(start, min(start + batch_size, count))
                yield start, references, skeletons, self.predict_on_inputs(references, skeletons, pad_to)

        return batches()

    def predict(
        self,
        images,
        keypoints,
        keypoints_frame=None,
        keypoints_image_size=None,
        value_range=None,
        person=None,
        batch_size=8,
    ):
        """Re-renders the reference `images` in the target `keypoints`.

        As a KerasHub task's `predict`, it takes raw inputs and runs the preprocessor first.

        Args:
            images: reference images: file paths, PIL images, or uint8 (or float, see
                `value_range`) arrays `(H, W, 3)` / `(batch, H, W, 3)` / a list, any size;
                not bool.
            keypoints: target poses: `(18, 2)` / `(batch, 18, 2)` `(x, y)` arrays (`-1` for a
                missing point) in `keypoints_frame`, or pose files (`.txt`, OpenPose `.json`,
                `.npy`). As many as `images` (paired in order), or one of either for all.
            keypoints_frame: `"pixels"` or `"deepfashion"`; required for arrays, per file type
                for files (see `PoseTransferPreprocessor`).
            keypoints_image_size: `(height, width)` the `"pixels"` keypoints refer to
                (default: each reference image's own size).
            value_range: the range of float `images`: `(0, 1)`, `(-1, 1)` or `(0, 255)`. Default
                `None`: float images with values above 1 are `(0, 255)`; float images within
                `[-1, 1]` are ambiguous and refused (a `ValueError` asks for `value_range`).
            person: for OpenPose `.json` files with several people, the one to use.
            batch_size: pairs per generator call; with more pairs than that, every call is
                padded to `batch_size` rows (as `keras-nted generate --batch-size` does).

        Returns:
            A uint8 numpy array `(batch, H, W, 3)` at the model's `image_size`.

        Raises:
            ValueError: naming the argument, for inputs of the wrong shape, range or count.
        """
        check_int("batch_size", batch_size)
        inputs = self.preprocessor(images, keypoints, keypoints_frame, keypoints_image_size, value_range, person)
        references, skeletons = inputs["reference_image"], inputs["target_skeleton"]
        batches = self.predict_batches(len(references), lambda a, b: (references[a:b], skeletons[a:b]), batch_size)
        return np.concatenate([images for *_, images in batches])

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "preprocessor"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """A task from a preset: a built-in name, a `save_to_preset` directory (of a task or a
        generator), an `hf://` handle, or a generator `.keras` file.

        Args:
            preset: a path to a generator `.keras` file (loaded by `load_generator`), a
                directory written by `PoseTransfer.save_to_preset`, or anything
                `NTEDGenerator.from_preset` takes (a preset name, its directories, ...).
            **kwargs: passed to `NTEDGenerator.from_preset`.

        Example:
        >>> PoseTransfer.from_preset("nted_tiny").image_size
        (64, 44)
        """
        if isinstance(preset, (str, os.PathLike)) and os.fspath(preset).endswith(".keras"):
            if kwargs:
                raise ValueError(f"Expected no keyword arguments with a .keras file. Received: {sorted(kwargs)}")
            task = cls(load_generator(preset))
        elif preset_io.preset_kind(preset) == "directory" and _holds_task(preset):
            if kwargs:
                raise ValueError(f"Expected no keyword arguments with a saved task. Received: {sorted(kwargs)}")
            return preset_io.load_directory(cls, preset)
        else:
            task = cls(NTEDGenerator.from_preset(preset, **kwargs))
        task.photo_note = photo_note(preset)
        return task

    def save_to_preset(self, preset_dir):
        """Write the task (config with its generator and preprocessor, weights, model card) to `preset_dir`.

        `PoseTransfer.from_preset(preset_dir)` reads it back on any backend.

        Returns:
            The directory, as a `pathlib.Path`.
        """
        return preset_io.save_preset(self, preset_dir, description="A pose-transfer task (generator + preprocessor).")


def _holds_task(directory):
    config = preset_io.read_json(pathlib.Path(directory) / preset_io.CONFIG_FILE)
    return isinstance(config, dict) and config.get("class_name") == PoseTransfer.__name__


def as_pose_transfer(model):
    """`model` if it is a `PoseTransfer`, else the task around the `NTEDGenerator` `model`."""
    return model if isinstance(model, PoseTransfer) else PoseTransfer(model)
