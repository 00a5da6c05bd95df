"""`PoseTransfer`: the pose-transfer task, from reference images and target keypoints to uint8 images.

In KerasHub's form (a task = a backbone + its preprocessor, `from_preset`, a high-level
`generate()`): the backbone is an `NTEDGenerator`, the preprocessor a
`PoseTransferPreprocessor`. `keras-nted generate` and `keras-nted demo` run through it, so a
notebook and the command line give the same pixels.
"""

import os

import numpy as np

from keras_nted.models.generator import NTEDGenerator
from keras_nted.models.generator import load_generator
from keras_nted.models.pose_transfer_preprocessor import PoseTransferPreprocessor


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


class PoseTransfer:
    """Re-renders people of reference images in target poses: images and keypoints in, uint8 images out.

    The task of NTED (Ren et al., CVPR 2022): an `NTEDGenerator` (the backbone, `generator`)
    with the released preprocessing and postprocessing (`preprocessor`, a
    `PoseTransferPreprocessor`). `generate()` takes reference photos of any size and target
    keypoints in a stated frame (or pose files) and returns uint8 images, the same pixels as
    `keras-nted generate` writes for the same inputs and batch size.

    A plain Python object, not a `keras.Model`: it holds no weights of its own, and its
    preprocessing (PIL's bilinear resize, the skeleton renderer) runs on the host. Save,
    export or fine-tune `generator`.

    Args:
        generator: an `NTEDGenerator`.
        preprocessor: a `PoseTransferPreprocessor` (default: one at `generator.image_size`).

    Example:
    >>> task = PoseTransfer.from_preset("nted_tiny")  # random weights: a shape check
    >>> reference = np.zeros((256, 176, 3), "uint8")  # any size; resized to the model's 64x44
    >>> keypoints = np.full((2, 18, 2), -1.0)  # two target poses, all points missing
    >>> task.generate(reference, keypoints, keypoints_frame="pixels").shape
    (2, 64, 44, 3)
    """

    def __init__(self, generator, preprocessor=None):
        if not isinstance(generator, NTEDGenerator):
            raise ValueError(f"Expected an NTEDGenerator. Received: generator={type(generator).__name__}")
        if preprocessor is None:
            preprocessor = PoseTransferPreprocessor(generator.image_size)
        if tuple(preprocessor.image_size) != tuple(generator.image_size):
            raise ValueError(
                f"Expected a preprocessor at the generator's image size {generator.image_size}. "
                f"Received: preprocessor.image_size={preprocessor.image_size}"
            )
        self.generator = generator
        self.preprocessor = preprocessor

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """A task around the generator of `preset`.

        Args:
            preset: a path to a generator `.keras` file (loaded by `load_generator`), or
                anything `NTEDGenerator.from_preset` takes (a preset name, ...).
            **kwargs: passed to `NTEDGenerator.from_preset`.

        Example:
        >>> PoseTransfer.from_preset("nted_tiny").image_size
        (64, 44)
        """
        if isinstance(preset, (str, os.PathLike)) and os.fspath(preset).endswith(".keras"):
            if kwargs:
                raise ValueError(f"Expected no keyword arguments with a .keras file. Received: {sorted(kwargs)}")
            return cls(load_generator(preset))
        return cls(NTEDGenerator.from_preset(preset, **kwargs))

    @property
    def image_size(self):
        """`(height, width)` of the images the task makes."""
        return tuple(self.generator.image_size)

    def generate_step(self, reference_image, target_skeleton, pad_to=None):
        """One generator call on preprocessed inputs -> uint8 images `(batch, H, W, 3)`.

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

    def generate(
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
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"Expected a positive integer batch size. Received: batch_size={batch_size!r}")
        inputs = self.preprocessor(images, keypoints, keypoints_frame, keypoints_image_size, value_range, person)
        references, skeletons = inputs["reference_image"], inputs["target_skeleton"]
        pad_to = batch_size if len(references) > batch_size else None
        return np.concatenate(
            [
                self.generate_step(references[i : i + batch_size], skeletons[i : i + batch_size], pad_to)
                for i in range(0, len(references), batch_size)
            ]
        )
