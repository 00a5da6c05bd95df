"""ONNX export through Keras' own exporter (`model.export(path, format="onnx")`), without TensorFlow.

Keras 3.15 exports ONNX on each backend its own way: TensorFlow through `tf2onnx`, JAX through
`jax2onnx` (which pulls in flax, equinox, optax and orbax), torch through `torch.onnx` (its
TorchScript exporter when the batch size is dynamic, as here; it needs no extra package). So
keras-nted exports ONNX with Keras' exporter on the torch backend, and only needs the `onnx`
package, to name the graph's output `image`. A JAX model is exported by a torch-backend
subprocess when TensorFlow's path (`tf2onnx`) is not installed; see `export_saved_model`.

Both files have a dynamic batch size and the signatures of the SavedModel's, without its
in-graph checks of the keypoints' values (ONNX Runtime checks dtypes and shapes only):

* `model.onnx`: `reference_image` uint8 `(batch, H, W, 3)` and `keypoints` float32
  `(batch, 18, 2)` -> `image` uint8 `(batch, H, W, 3)`.
* `generate_from_skeleton.onnx`: `reference_image` float32 `(batch, H, W, 3)` in [-1, 1] and
  `skeleton` float32 `(batch, H, W, 20)` -> `image` float32.

With a pose model (`keras-nted export --two-photos --format onnx`), a third file, on torch:

* `two_photos.onnx`: `reference_photo` and `pose_photo`, uint8 `(batch, height, width, 3)` of
  any size (BlazePose and the framing in the graph) -> `image` uint8 `(batch, H, W, 3)`,
  `keypoints` float32 `(batch, 18, 2)`, `reference_found` and `pose_found` bool `(batch,)`.
  ONNX has no way to fail a request, so a photo without a person is `*_found == False` (its
  `image` is then meaningless), where the SavedModel's signature raises; and ONNX has no image
  decoder, so there is no counterpart of the SavedModel's `two_photos_encoded`.
"""

import importlib.util
import os
import warnings

import keras

from keras_nted.models.pose_transfer import as_pose_transfer
from keras_nted.utils.openpose import NUM_KEYPOINTS

# Backends on which Keras' own ONNX exporter is used, and what it needs there.
KERAS_ONNX_BACKENDS = ("torch",)
KERAS_ONNX_PACKAGES = ("onnx",)
ONNX_FILES = {
    "serving_default": "model.onnx",
    "generate_from_skeleton": "generate_from_skeleton.onnx",
    "two_photos": "two_photos.onnx",
}
# The outputs of `two_photos.onnx`, in the order Keras flattens the model's dict.
PHOTO_OUTPUTS = ("image", "keypoints", "pose_found", "reference_found")


def is_installed(name):
    """Whether the top-level package `name` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # an import hook that hides the package
        return False


def missing_keras_onnx_packages():
    """The packages Keras' torch ONNX export needs that are not installed (torch itself included)."""
    return [name for name in ("torch", *KERAS_ONNX_PACKAGES) if not is_installed(name)]


def serving_models(generator):
    """The two exported computations of `generator` as functional `keras.Model`s.

    Args:
        generator: an `NTEDGenerator`, or a `PoseTransfer` around one.

    Returns:
        `{"serving_default": model, "generate_from_skeleton": model}`; each model takes its two
        inputs (named as in the export) as a list and returns `{"image": tensor}`: the task's
        `PoseTransfer.serve` and `serve_skeleton`.

    Example:

    >>> generator = keras_nted.models.NTEDGenerator.from_preset("nted_tiny")
    >>> models = serving_models(generator)
    >>> [tensor.name for tensor in models["serving_default"].inputs]
    ['reference_image', 'keypoints']
    """
    task = as_pose_transfer(generator)
    height, width = task.image_size
    reference_uint8 = keras.Input((height, width, 3), dtype="uint8", name="reference_image")
    keypoints = keras.Input((NUM_KEYPOINTS, 2), dtype="float32", name="keypoints")
    served = keras.Model([reference_uint8, keypoints], {"image": task.serve(reference_uint8, keypoints)})

    reference = keras.Input((height, width, 3), dtype="float32", name="reference_image")
    skeleton = keras.Input((height, width, task.generator.semantic_dim), dtype="float32", name="skeleton")
    from_skeleton = keras.Model([reference, skeleton], {"image": task.serve_skeleton(reference, skeleton)})
    return {"serving_default": served, "generate_from_skeleton": from_skeleton}


def _name_outputs(path, names):
    """Renames the ONNX graph's outputs to `names`, in order (torch names them by node numbers)."""
    import onnx

    model = onnx.load(path)
    if len(model.graph.output) != len(names):
        raise RuntimeError(f"Expected {len(names)} outputs in {path}. Received: {len(model.graph.output)}")
    renames = {output.name: name for output, name in zip(model.graph.output, names)}
    for node in model.graph.node:
        node.output[:] = [renames.get(value, value) for value in node.output]
        node.input[:] = [renames.get(value, value) for value in node.input]
    for output in model.graph.output:
        output.name = renames[output.name]
        output.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(model, path)


def write_onnx(generator, directory, pose_model=None):
    """Writes `model.onnx` and `generate_from_skeleton.onnx` into `directory` with Keras' exporter.

    Runs on the active backend, one of `KERAS_ONNX_BACKENDS`; the caller checks the packages.
    With `pose_model` (`keras_nted.pose.pose_pipeline()`), also `two_photos.onnx` (the task's
    `photo_model`; see the module docstring).
    """
    if keras.backend.backend() not in KERAS_ONNX_BACKENDS:
        raise RuntimeError(
            f"Expected a backend in {KERAS_ONNX_BACKENDS} for Keras' ONNX export. "
            f"Received: backend {keras.backend.backend()}"
        )
    from keras_nted.backend.torch_onnx import register_symbolics

    register_symbolics()  # ravel and an exact floor_divide (see keras_nted.backend.torch_onnx)
    models = serving_models(generator)
    outputs = {name: ("image",) for name in models}
    if pose_model is not None:
        models["two_photos"] = as_pose_transfer(generator).photo_model(pose_model)
        outputs["two_photos"] = PHOTO_OUTPUTS
    for name, model in models.items():
        signature = [[keras.InputSpec(shape=(None, *x.shape[1:]), dtype=x.dtype, name=x.name) for x in model.inputs]]
        path = os.path.join(os.fspath(directory), ONNX_FILES[name])
        with warnings.catch_warnings():
            # torch's tracer warns about every Python-side constant and shape (Keras' own filters
            # for them end before its export call, as of 3.15): expected here, and not actionable.
            warnings.filterwarnings("ignore", message=r"(?s).*(the trace|Constant folding|constant folded)")
            model.export(path, format="onnx", input_signature=signature, verbose=False)
        _name_outputs(path, outputs[name])
