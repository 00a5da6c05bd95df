"""`backend.torch_onnx`: torch's ONNX exporter writes `floor_divide` exactly and can write `ravel`.

Without `register_symbolics`, torch 2.13 exports `-7 // 3` as -2 (ONNX `Div` truncates) and
fails on `aten::ravel` (Keras' torch `ops.take`); each test below fails on the exporter's own
symbolics.
"""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="torch's ONNX exporter: Keras' ONNX export runs on torch (export/onnx)"
)
ort = pytest.importorskip("onnxruntime", reason="onnxruntime (in the CI environment) runs the exported graph")


class _Divisions(keras.layers.Layer):
    def call(self, x):
        whole = ops.cast(x, "int32")
        return [
            ops.floor_divide(whole, 3),
            ops.floor_divide(whole, ops.maximum(ops.abs(whole) - 2, 1)),
            ops.floor_divide(x, 4.0),
            ops.take(ops.stack([x, -x], axis=1), np.array([1, 0, 1]), axis=1),  # Keras ravels the indices
        ]


def _exported(model, path, x):
    from keras_nted.backend.torch_onnx import register_symbolics

    register_symbolics()
    spec = keras.InputSpec(shape=(None, *x.shape[1:]), dtype="float32", name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.export(str(path), format="onnx", input_signature=[[spec]], verbose=False)
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})


def test_floor_divide_and_take_export_exactly(tmp_path):
    x = np.array([[-9, -7, -3, -1, 0, 1, 5, 7, 11]], "float32")
    inputs = keras.Input((x.shape[1],), dtype="float32")
    model = keras.Model(inputs, _Divisions()(inputs))
    expected = [ops.convert_to_numpy(t) for t in model(x)]
    assert expected[0].tolist() == [[-3, -3, -1, -1, 0, 0, 1, 2, 3]]  # floor, not truncation
    for got, want in zip(_exported(model, tmp_path / "divisions.onnx", x), expected):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
