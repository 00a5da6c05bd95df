"""A `.tflite` file read into plain Python: tensors with their constant data, operators in order.

A `.tflite` file is a FlatBuffer of the TensorFlow Lite schema (`schema.fbs`, file identifier
`TFL3`). This module reads the part of the schema a float inference graph needs, with `struct`
and numpy only (no LiteRT, no `flatbuffers` package): `Model -> subgraphs[0] -> tensors,
operators, inputs, outputs`, `Model -> buffers` (constant data) and `Model -> operator_codes`.

FlatBuffer layout, as far as used here: every reference is a little-endian `uint32` offset
relative to where it is stored. A table starts with an `int32` back-offset to its vtable; the
vtable holds `uint16` sizes and then one `uint16` offset per field (0: absent, the schema's
default applies). A vector is a `uint32` length followed by its elements; a string is a vector
of bytes. A union takes two field slots: its type (`uint8`) and then the table.
"""

import dataclasses
import struct

import numpy as np

# schema.fbs `BuiltinOperator`: the codes of the operators keras-nted maps (see `tflite_ops`).
BUILTIN_OPERATORS = {
    0: "ADD",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE",
    6: "DEQUANTIZE",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    34: "PAD",
    124: "DENSIFY",
}
# schema.fbs `TensorType` -> numpy dtype.
TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
# Builtin options tables: operator -> ((field name, struct format, default), ...) in field order.
# `None` as the format: a vector of int32.
_OPTIONS = {
    "CONV_2D": (
        ("padding", "b", 0),
        ("stride_w", "i", 0),
        ("stride_h", "i", 0),
        ("fused_activation_function", "b", 0),
        ("dilation_w_factor", "i", 1),
        ("dilation_h_factor", "i", 1),
    ),
    "DEPTHWISE_CONV_2D": (
        ("padding", "b", 0),
        ("stride_w", "i", 0),
        ("stride_h", "i", 0),
        ("depth_multiplier", "i", 0),
        ("fused_activation_function", "b", 0),
        ("dilation_w_factor", "i", 1),
        ("dilation_h_factor", "i", 1),
    ),
    "MAX_POOL_2D": (
        ("padding", "b", 0),
        ("stride_w", "i", 0),
        ("stride_h", "i", 0),
        ("filter_width", "i", 0),
        ("filter_height", "i", 0),
        ("fused_activation_function", "b", 0),
    ),
    "ADD": (("fused_activation_function", "b", 0),),
    "CONCATENATION": (("axis", "i", 0), ("fused_activation_function", "b", 0)),
    "RESHAPE": (("new_shape", None, None),),
    "RESIZE_BILINEAR": (
        ("new_height", "i", 0),
        ("new_width", "i", 0),
        ("align_corners", "?", False),
        ("half_pixel_centers", "?", False),
    ),
    "DEPTH_TO_SPACE": (("block_size", "i", 0),),
}
_SPARSE_INDEX_VECTORS = {1: "<i4", 2: "<u2", 3: "u1"}


@dataclasses.dataclass
class Sparsity:
    """schema.fbs `SparsityParameters`: how a constant is stored compressed (see `densify`).

    Attributes:
        traversal_order: the order in which the (blocked) dimensions are stored.
        block_map: for each block dimension, the original dimension it splits.
        dim_metadata: per traversed dimension, `("dense", size)` or `("csr", segments, indices)`.
    """

    traversal_order: list
    block_map: list
    dim_metadata: list


@dataclasses.dataclass
class Tensor:
    """One tensor of the graph. `data`: its constant value (numpy, the file's dtype), or None."""

    name: str
    shape: tuple
    dtype: str
    data: object = None
    sparsity: object = None


@dataclasses.dataclass
class Operator:
    """One operator: its builtin name, input and output tensor indices (-1: an omitted optional
    input) and its builtin options as a dict."""

    op: str
    inputs: list
    outputs: list
    options: dict


@dataclasses.dataclass
class Graph:
    """The first subgraph of a `.tflite` model. Operators are stored in execution order."""

    tensors: list
    operators: list
    inputs: list
    outputs: list


class _Table:
    """A FlatBuffer table at `pos` in `buf`."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable = vtable
        self.num_fields = (struct.unpack_from("<H", buf, vtable)[0] - 4) // 2

    def _field(self, index):
        if index >= self.num_fields:
            return None
        offset = struct.unpack_from("<H", self.buf, self.vtable + 4 + 2 * index)[0]
        return self.pos + offset if offset else None

    def _target(self, index):
        where = self._field(index)
        return None if where is None else where + struct.unpack_from("<I", self.buf, where)[0]

    def scalar(self, index, fmt, default):
        where = self._field(index)
        return default if where is None else struct.unpack_from("<" + fmt, self.buf, where)[0]

    def table(self, index):
        where = self._target(index)
        return None if where is None else _Table(self.buf, where)

    def tables(self, index):
        where = self._target(index)
        if where is None:
            return []
        count = struct.unpack_from("<I", self.buf, where)[0]
        elements = (where + 4 + 4 * i for i in range(count))
        return [_Table(self.buf, e + struct.unpack_from("<I", self.buf, e)[0]) for e in elements]

    def array(self, index, dtype):
        """A vector of scalars as a numpy array (empty when absent)."""
        where = self._target(index)
        if where is None:
            return np.zeros((0,), dtype)
        count = struct.unpack_from("<I", self.buf, where)[0]
        return np.frombuffer(self.buf, dtype, count, where + 4)

    def string(self, index):
        return bytes(self.array(index, "u1")).decode()


def _sparsity(table):
    if table is None:
        return None
    dims = []
    for dim in table.tables(2):
        if dim.scalar(0, "b", 0) == 0:
            dims.append(("dense", dim.scalar(1, "i", 0)))
            continue
        vectors = []
        for type_field in (2, 4):
            dtype = _SPARSE_INDEX_VECTORS.get(dim.scalar(type_field, "B", 0))
            if dtype is None:
                raise ValueError(
                    f"Expected int32, uint16 or uint8 sparse indices. Received: type {dim.scalar(type_field, 'B', 0)}"
                )
            vectors.append(dim.table(type_field + 1).array(0, dtype).astype("int64"))
        dims.append(("csr", *vectors))
    return Sparsity(list(table.array(0, "<i4")), list(table.array(1, "<i4")), dims)


def _tensor(table, buffers):
    dtype = TENSOR_TYPES.get(table.scalar(1, "b", 0))
    name = table.string(3)
    if dtype is None:
        raise ValueError(f"Tensor {name!r}: unsupported tensor type {table.scalar(1, 'b', 0)}.")
    data = buffers[table.scalar(2, "I", 0)].array(0, "u1")
    sparsity = _sparsity(table.table(6))
    shape = tuple(int(d) for d in table.array(0, "<i4"))
    if data.size:
        data = np.frombuffer(data.tobytes(), np.dtype(dtype).newbyteorder("<")).astype(dtype)
        data = data if sparsity is not None else data.reshape(shape)
    return Tensor(name, shape, dtype, data if data.size else None, sparsity)


def _options(op, table):
    fields = _OPTIONS.get(op, ())
    if table is None:
        return {name: default for name, _, default in fields}
    return {
        name: [int(v) for v in table.array(i, "<i4")] if fmt is None else table.scalar(i, fmt, default)
        for i, (name, fmt, default) in enumerate(fields)
    }


def read_graph(path):
    """Reads the first subgraph of a `.tflite` file.

    Args:
        path: the `.tflite` file.

    Returns:
        A `Graph`: tensors (constants with their data), operators in execution order, and
        the indices of the graph's input and output tensors.

    Raises:
        ValueError: when the file is not a TFLite model, or uses an operator outside
            `BUILTIN_OPERATORS`.
    """
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError(f"Expected a TFLite model (file identifier TFL3). Received: path={path}")
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = [max(code.scalar(0, "b", 0), code.scalar(3, "i", 0)) for code in model.tables(1)]
    buffers = model.tables(4)
    subgraph = model.tables(2)[0]
    tensors = [_tensor(t, buffers) for t in subgraph.tables(0)]
    operators = []
    for table in subgraph.tables(3):
        code = codes[table.scalar(0, "I", 0)]
        if code not in BUILTIN_OPERATORS:
            raise ValueError(
                f"Expected one of the operators {sorted(BUILTIN_OPERATORS.values())}. "
                f"Received: builtin operator code {code} in {path}"
            )
        op = BUILTIN_OPERATORS[code]
        inputs, outputs = ([int(i) for i in table.array(k, "<i4")] for k in (1, 2))
        operators.append(Operator(op, inputs, outputs, _options(op, table.table(4))))
    return Graph(
        tensors, operators, [int(i) for i in subgraph.array(1, "<i4")], [int(i) for i in subgraph.array(2, "<i4")]
    )
