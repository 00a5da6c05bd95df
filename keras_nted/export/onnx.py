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
ONNX_FILES = {"serving_default": "model.onnx", "generate_from_skeleton": "generate_from_skeleton.onnx"}


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


def _name_output(path, name):
    """Renames the ONNX graph's single output to `name` (torch names it by a node number)."""
    import onnx

    model = onnx.load(path)
    (output,) = model.graph.output
    old = output.name
    for node in model.graph.node:
        node.output[:] = [name if value == old else value for value in node.output]
        node.input[:] = [name if value == old else value for value in node.input]
    output.name = name
    output.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(model, path)


def write_onnx(generator, directory):
    """Writes `model.onnx` and `generate_from_skeleton.onnx` into `directory` with Keras' exporter.

    Runs on the active backend, one of `KERAS_ONNX_BACKENDS`; the caller checks the packages.
    """
    if keras.backend.backend() not in KERAS_ONNX_BACKENDS:
        raise RuntimeError(
            f"Expected a backend in {KERAS_ONNX_BACKENDS} for Keras' ONNX export. "
            f"Received: backend {keras.backend.backend()}"
        )
    for name, model in serving_models(generator).items():
        signature = [[keras.InputSpec(shape=(None, *x.shape[1:]), dtype=x.dtype, name=x.name) for x in model.inputs]]
        path = os.path.join(os.fspath(directory), ONNX_FILES[name])
        with warnings.catch_warnings():
            # torch's tracer warns about every Python-side constant and shape (Keras' own filters
            # for them end before its export call, as of 3.15): expected here, and not actionable.
            warnings.filterwarnings("ignore", message=r"(?s).*(the trace|Constant folding|constant folded)")
            model.export(path, format="onnx", input_signature=signature, verbose=False)
        _name_output(path, "image")
