"""torch's ONNX exporter: two operators it writes wrongly or not at all, written by keras-nted.

torch 2.13's TorchScript ONNX exporter (the one Keras' `model.export(format="onnx")` uses on
torch) has no symbolic for `aten::ravel`, which Keras' torch `ops.take` calls, and writes
`aten::floor_divide` as ONNX `Div`, which truncates towards zero: `-7 // 3` is -2 in the
exported graph and -3 in torch (the skeleton renderer's integer geometry depends on it).
`register_symbolics` gives the exporter both, once per process, for every opset from 9.
"""

import functools

# ONNX TensorProto data types by TorchScript scalar type.
_ONNX_TYPES = {"Float": 1, "Byte": 2, "Char": 3, "Short": 5, "Int": 6, "Long": 7, "Half": 10, "Double": 11}
_FLOATS = ("Half", "Float", "Double")
_DOUBLE = 11


def _scalar_type(value):
    try:
        return value.type().scalarType()
    except RuntimeError:  # a value without a tensor type
        return None


def _ravel(g, x):
    import torch

    return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor([-1], dtype=torch.int64)))


def _floor_divide(g, a, b):
    """`floor(a / b)` in float64 (exact for integers below 2^31), cast to the promoted type."""
    types = [_scalar_type(a), _scalar_type(b)]
    floats = [t for t in types if t in _FLOATS]
    result = floats[0] if floats else (types[0] or types[1] or "Long")
    quotient = g.op("Div", g.op("Cast", a, to_i=_DOUBLE), g.op("Cast", b, to_i=_DOUBLE))
    return g.op("Cast", g.op("Floor", quotient), to_i=_ONNX_TYPES[result])


@functools.lru_cache(maxsize=None)
def register_symbolics():
    """Registers keras-nted's `aten::ravel` and `aten::floor_divide` with torch's ONNX exporter."""
    import torch

    torch.onnx.register_custom_op_symbolic("aten::ravel", _ravel, 9)
    torch.onnx.register_custom_op_symbolic("aten::floor_divide", _floor_divide, 9)
