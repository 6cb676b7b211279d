"""Tiny ONNX models written byte by byte, for testing the ONNX stages without real weights.

The ``onnx`` package is not a dependency, so this module encodes the few ONNX protobuf
messages it needs (model, graph, node, tensor, value info) with the protobuf wire format
directly; ONNX Runtime then loads the bytes like any exported model. Field numbers are those
of ``onnx.proto`` (ONNX IR version 8, default-domain opset 13).

The graphs are stand-ins with a real model's input and output layout, not trained
networks: their outputs are fixed tensors plus a term that depends on the mean of the input
image, so tests can check both post-processing and image preparation with known numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

_FLOAT = 1  # TensorProto.DataType.FLOAT
_ATTR_INT = 2  # AttributeProto.AttributeType.INT
_ATTR_INTS = 7  # AttributeProto.AttributeType.INTS


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values are sent as ten-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _str(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


def tensor(name: str, array: npt.NDArray[np.float32]) -> bytes:
    """A float32 TensorProto (dims 1, data_type 2, name 8, raw_data 9)."""
    data = np.ascontiguousarray(array, dtype="<f4")
    dims = b"".join(_int(1, d) for d in data.shape)
    return dims + _int(2, _FLOAT) + _str(8, name) + _bytes(9, data.tobytes())


def value_info(name: str, shape: tuple[int | str, ...]) -> bytes:
    """A float tensor ValueInfoProto; a str side is a named dynamic dimension."""
    dims = b"".join(_bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, _FLOAT) + _bytes(2, dims)  # elem_type 1, shape 2
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))  # name 1, type 2 (tensor_type 1)


def node(op: str, inputs: list[str], outputs: list[str], **attrs: int | list[int]) -> bytes:
    """A NodeProto (input 1, output 2, name 3, op_type 4, attribute 5)."""
    body = b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs)
    body += _str(3, f"{op}_{outputs[0]}") + _str(4, op)
    for key, value in attrs.items():
        if isinstance(value, list):  # ints 8, type 20
            attr = _str(1, key) + b"".join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)
        else:  # i 3, type 20
            attr = _str(1, key) + _int(3, value) + _int(20, _ATTR_INT)
        body += _bytes(5, attr)
    return body


def model(
    nodes: list[bytes],
    inputs: list[bytes],
    outputs: list[bytes],
    initializers: list[bytes],
    metadata: dict[str, str] | None = None,
) -> bytes:
    """A ModelProto (ir_version 1, producer 2, graph 7, opset 8, metadata_props 14)."""
    graph = b"".join(_bytes(1, n) for n in nodes) + _str(2, "stand_in")
    graph += b"".join(_bytes(5, t) for t in initializers)
    graph += b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs)
    opset = _str(1, "") + _int(2, 13)
    props = b"".join(_bytes(14, _str(1, k) + _str(2, v)) for k, v in (metadata or {}).items())
    return _int(1, 8) + _str(2, "eioku-tests") + _bytes(7, graph) + _bytes(8, opset) + props


def image_mean_model(
    path: Path,
    input_shape: tuple[int | str, ...],
    constant: npt.NDArray[np.float32],
    per_mean: npt.NDArray[np.float32],
    *,
    input_name: str = "images",
    output_name: str = "output0",
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a model computing ``constant + mean(input) * per_mean``.

    ``mean(input)`` is the mean of the whole input tensor, a scalar; the output has the shape
    of ``constant``.
    """
    nodes = [
        node("ReduceMean", [input_name], ["mean"], keepdims=0),
        node("Mul", ["mean", "per_mean"], ["scaled"]),
        node("Add", ["constant", "scaled"], [output_name]),
    ]
    path.write_bytes(
        model(
            nodes,
            [value_info(input_name, input_shape)],
            [value_info(output_name, tuple(constant.shape))],
            [tensor("constant", constant), tensor("per_mean", per_mean)],
            metadata,
        )
    )
    return path


def channel_mean_model(
    path: Path,
    input_shape: tuple[int | str, ...],
    constant: npt.NDArray[np.float32],
    weights: npt.NDArray[np.float32],
    *,
    input_name: str = "input",
    output_name: str = "logits",
) -> Path:
    """Write a model computing ``constant + channel_means(input) @ weights``.

    ``channel_means`` is the 1x3 mean of each input channel over height and width, so a
    class's output can depend on, say, the red channel only.
    """
    nodes = [
        node("ReduceMean", [input_name], ["means"], axes=[2, 3], keepdims=0),
        node("MatMul", ["means", "weights"], ["mixed"]),
        node("Add", ["constant", "mixed"], [output_name]),
    ]
    path.write_bytes(
        model(
            nodes,
            [value_info(input_name, input_shape)],
            [value_info(output_name, tuple(constant.shape))],
            [tensor("constant", constant), tensor("weights", weights)],
        )
    )
    return path
