"""The FlatBuffer reader against LiteRT's own view of the two BlazePose files, and `densify`."""

import collections

import numpy as np
import pytest

from keras_nted.pose.model_files import DETECTOR
from keras_nted.pose.model_files import LANDMARKS
from keras_nted.pose.model_files import load_interpreter
from keras_nted.pose.tflite_file import Sparsity
from keras_nted.pose.tflite_file import read_graph
from keras_nted.pose.tflite_ops import densify

# The operators of the two graphs, as LiteRT's op list counts them (its DELEGATE node aside).
OPERATOR_COUNTS = {
    DETECTOR: {
        "DEQUANTIZE": 144, "CONV_2D": 45, "DENSIFY": 38, "DEPTHWISE_CONV_2D": 28, "ADD": 15, "PAD": 8,
        "RESHAPE": 6, "DEPTH_TO_SPACE": 3, "RESIZE_BILINEAR": 2, "CONCATENATION": 2,
    },
    LANDMARKS: {
        "DEQUANTIZE": 192, "CONV_2D": 58, "DEPTHWISE_CONV_2D": 38, "ADD": 28, "PAD": 5, "RESIZE_BILINEAR": 5,
        "RESHAPE": 3, "MAX_POOL_2D": 2, "LOGISTIC": 1,
    },
}  # fmt: skip


@pytest.mark.parametrize("file_name", [DETECTOR, LANDMARKS])
def test_graph_matches_litert(model_paths, file_name):
    graph = read_graph(model_paths[file_name])
    interpreter = load_interpreter(model_paths[file_name])
    assert collections.Counter(op.op for op in graph.operators) == OPERATOR_COUNTS[file_name]
    details = sorted(interpreter.get_tensor_details(), key=lambda d: d["index"])
    assert len(details) == len(graph.tensors)
    for tensor, detail in zip(graph.tensors, details):
        assert (tensor.name, tensor.shape) == (detail["name"], tuple(detail["shape"]))
    assert graph.inputs == [d["index"] for d in interpreter.get_input_details()]
    assert graph.outputs == [d["index"] for d in interpreter.get_output_details()]
    dense_constants = [i for i, t in enumerate(graph.tensors) if t.data is not None and t.sparsity is None]
    assert len(dense_constants) > 100
    for i in dense_constants[::7]:
        np.testing.assert_array_equal(graph.tensors[i].data, interpreter.get_tensor(i))


def test_options_read(model_paths):
    graph = read_graph(model_paths[LANDMARKS])
    first_conv = next(op for op in graph.operators if op.op == "CONV_2D")
    assert first_conv.options == {
        "padding": 1,
        "stride_w": 2,
        "stride_h": 2,
        "fused_activation_function": 3,
        "dilation_w_factor": 1,
        "dilation_h_factor": 1,
    }
    resize = next(op for op in graph.operators if op.op == "RESIZE_BILINEAR")
    assert (resize.options["align_corners"], resize.options["half_pixel_centers"]) == (False, True)


def test_rejects_other_files(tmp_path):
    path = tmp_path / "not.tflite"
    path.write_bytes(b"\x10\x00\x00\x00ONNX" + bytes(16))
    with pytest.raises(ValueError, match="Expected a TFLite model"):
        read_graph(path)


def test_densify_compressed_rows():
    # [[0, 5, 0, 7], [0, 0, 0, 0], [1, 0, 0, 2]]: rows dense, columns compressed.
    sparsity = Sparsity([0, 1], [], [("dense", 3), ("csr", np.array([0, 2, 2, 4]), np.array([1, 3, 0, 3]))])
    dense = densify(np.array([5, 7, 1, 2], "float16"), (3, 4), sparsity)
    np.testing.assert_array_equal(dense, [[0, 5, 0, 7], [0, 0, 0, 0], [1, 0, 0, 2]])
    assert dense.dtype == np.float16


def test_densify_blocks_and_traversal_order():
    # A 4x4 matrix in 2x2 blocks, block columns traversed first; only blocks (0, 1) and (1, 0) stored.
    expected = np.zeros((4, 4), "float32")
    expected[0:2, 2:4] = [[1, 2], [3, 4]]
    expected[2:4, 0:2] = [[5, 6], [7, 8]]
    sparsity = Sparsity(
        [1, 0, 2, 3],
        [0, 1],
        [("dense", 2), ("csr", np.array([0, 1, 2]), np.array([1, 0])), ("dense", 2), ("dense", 2)],
    )
    # Traversal: block column j outer, block row i inner; block (1, 0) (j=0) comes first.
    values = np.array([5, 6, 7, 8, 1, 2, 3, 4], "float32")
    np.testing.assert_array_equal(densify(values, (4, 4), sparsity), expected)
