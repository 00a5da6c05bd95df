"""BlazePose's two networks as Keras models against LiteRT on the same inputs, on every backend.

Inputs: two mannequin renders, squeezed to the networks' input sizes, as one batch of two.
"Relative" error is `|keras - litert| / |litert|` over a whole output (L2 norms), and, for the
outputs the pose pipeline reads, also the largest error over the largest value. The
segmentation logits (`(256, 256, 1)`, values up to ~1500) come at the end of the deepest chain
and differ most: there LiteRT's own two CPU kernels (XNNPACK and the reference kernels) differ
from each other by 3e-4 of the largest value, so that output is held to 1e-3 there.
"""

import cv2
import keras
import numpy as np
import pytest

from keras_nted.pose.model_files import DETECTOR
from keras_nted.pose.model_files import LANDMARKS
from keras_nted.pose.model_files import load_interpreter
from keras_nted.pose.networks import DETECTOR_OUTPUTS
from keras_nted.pose.networks import LANDMARK_OUTPUTS
from keras_nted.pose.networks import detector_network
from keras_nted.pose.networks import landmark_network
from keras_nted.pose.tflite_file import read_graph
from keras_nted.pose.tflite_model import graph_tensors

# file -> (builder, input size, value range, output names)
NETWORKS = {
    DETECTOR: (detector_network, 224, (-1.0, 1.0), DETECTOR_OUTPUTS),
    LANDMARKS: (landmark_network, 256, (0.0, 1.0), LANDMARK_OUTPUTS),
}
MAX_ERROR = {"segmentation": 1e-3}


def _inputs(photos, size, value_range):
    low, high = value_range
    return np.stack([cv2.resize(p, (size, size)).astype("float32") / 255 * (high - low) + low for p in photos])


def _litert(path, x, **kwargs):
    """LiteRT's outputs for a batch, one image at a time (the files are batch 1)."""
    interpreter = load_interpreter(path, **kwargs)
    outputs = []
    for image in x:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
        interpreter.invoke()
        outputs.append([interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()])
    return [np.concatenate(parts) for parts in zip(*outputs)]


def _relative(got, expected):
    return np.linalg.norm(got - expected) / np.linalg.norm(expected), np.abs(got - expected).max() / np.abs(
        expected
    ).max()


@pytest.mark.parametrize("file_name", [DETECTOR, LANDMARKS])
def test_network_equals_litert(model_paths, photos, file_name):
    build, size, value_range, names = NETWORKS[file_name]
    model = build(model_paths[file_name].parent)
    x = _inputs(photos, size, value_range)
    got = model.predict(x, verbose=0)  # compiled once: much faster than an eager call on JAX
    expected = _litert(model_paths[file_name], x)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for name, g, e in zip(names, got, expected):
        overall, largest = _relative(g, e)
        assert overall < 1e-4, f"{name}: relative error {overall:.2e}"
        assert largest < MAX_ERROR.get(name, 1e-4), f"{name}: largest error {largest:.2e} of the largest value"


def test_every_operator_equals_litert(model_paths, photos):
    """Every intermediate tensor of the landmark graph (the deeper one) against LiteRT's
    reference kernels, so that a wrong mapping shows at the operator that makes it. Float32
    rounding builds up along the chain (a single pose-flag logit reaches 1.2e-4); a wrong
    mapping gives errors of order 1."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    path = model_paths[LANDMARKS]
    graph = read_graph(path)
    inputs, values = graph_tensors(graph)
    produced = [op.outputs[0] for op in graph.operators if keras.backend.is_keras_tensor(values[op.outputs[0]])]
    model = keras.Model(inputs[0], [values[i] for i in produced])
    x = _inputs(photos[:1], 256, (0.0, 1.0))
    got = model.predict(x, verbose=0)
    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    assert len(produced) == 140
    for index, y in zip(produced, got):
        overall, _ = _relative(y, interpreter.get_tensor(index))
        assert overall < 1e-3, f"tensor {index} ({graph.tensors[index].name}): relative error {overall:.2e}"
