"""A float `.tflite` graph rebuilt as a Keras functional model: weights read from the file,
operators mapped one by one (`tflite_ops`), no LiteRT at run time."""

import keras

from keras_nted.pose.tflite_file import read_graph
from keras_nted.pose.tflite_ops import OPERATORS


def _constants(graph):
    """Tensor index -> numpy constant (a sparse one stays a `Tensor` for DENSIFY)."""
    return {i: (t if t.sparsity is not None else t.data) for i, t in enumerate(graph.tensors) if t.data is not None}


def _check_shape(op, index, value, tensor):
    shape = tuple(value.shape)
    if len(shape) != len(tensor.shape) or shape[1:] != tuple(tensor.shape[1:]):
        raise ValueError(
            f"Operator {index} ({op.op}) gives {tensor.name!r} the shape {shape}. Expected: {tensor.shape} "
            "(batch aside)."
        )


def graph_tensors(graph, prefix=""):
    """Walks a `tflite_file.Graph` in order: its inputs as `keras.Input`s and every tensor's value.

    Each operator's layer is named `f"{prefix}{op}_{index}"`: give two graphs that go into one
    model different prefixes (on torch, Keras keys a model's parameters by variable path, so two
    layers of one name would leave one's weights out of the model's `parameters()`, and out of
    its ONNX export).

    Returns:
        `(inputs, values)`: the Keras inputs, and tensor index -> Keras tensor (an operator's
        output) or numpy array (a constant, folded ones included).
    """
    values = _constants(graph)
    inputs = []
    for i in graph.inputs:
        tensor = graph.tensors[i]
        values[i] = keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=f"input_{len(inputs)}")
        inputs.append(values[i])
    for index, op in enumerate(graph.operators):
        if any(i >= 0 and i not in values for i in op.inputs):
            raise ValueError(f"Operator {index} ({op.op}) reads a tensor no earlier operator wrote.")
        arguments = [values[i] if i >= 0 else None for i in op.inputs]
        (output,) = op.outputs
        values[output] = OPERATORS[op.op](arguments, op.options, f"{prefix}{op.op.lower()}_{index}")
        if keras.backend.is_keras_tensor(values[output]):
            _check_shape(op, index, values[output], graph.tensors[output])
    return inputs, values


def model_from_tflite(path, name=None):
    """Builds a Keras functional model equal to the first subgraph of a float `.tflite` file.

    The operators are walked in the file's order (TFLite stores them in execution order, so
    every input exists before it is used); constants the graph only transforms (float16
    weights and their `DEQUANTIZE`, sparse ones and their `DENSIFY`) are folded in numpy.
    The batch axis is left free: the model takes any batch size.

    Args:
        path: the `.tflite` file.
        name: the model's name (default: the file's stem), also its layers' prefix.

    Returns:
        A `keras.Model` with the graph's inputs and outputs, in the file's order.

    Raises:
        ValueError: for an operator or option outside those `tflite_ops` maps, or a mapped
            operator whose output shape differs from the file's.

    Example:
    ```python
    detector = model_from_tflite("pose_detection.tflite")
    boxes, scores = detector(np.zeros((1, 224, 224, 3), "float32"))
    ```
    """
    graph = read_graph(path)
    stem = str(path).replace("\\", "/").rsplit("/", 1)[-1].split(".")[0]
    inputs, values = graph_tensors(graph, prefix=f"{name or stem}_")
    outputs = [values[i] for i in graph.outputs]
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=name or stem)
