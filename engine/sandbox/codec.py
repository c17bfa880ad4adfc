"""The data-only value protocol between a sandboxed child and the trusted parent.

The child turns check values into JSON: numbers, strings, containers, and
arrays as base64 raw bytes with dtype and shape.  No pickle, ever.  The
parent decodes strictly: only known tags and dtypes, bounded sizes and
depth; anything else is a ProtocolError, which fails the check.

`encode` runs in the child and imports torch only if the value is a tensor;
`decode` runs in the parent and needs only numpy.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_ELEMENTS = 20_000_000
MAX_ITEMS = 10_000
MAX_DEPTH = 8
MAX_STRING = 1 << 20

ALLOWED_DTYPES = {
    "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64", "complex64", "complex128",
}  # fmt: skip
# torch dtypes numpy has no twin for travel widened, with their real name kept.
_WIDEN = {"bfloat16": "float32"}


class ProtocolError(ValueError):
    """The child sent something the parent will not accept."""


# --- child side -------------------------------------------------------------------


def encode(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"__float__": repr(float(value))}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [encode(value.real), encode(value.imag)]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in value[:MAX_ITEMS]]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in list(value.items())[:MAX_ITEMS]]}
    if isinstance(value, np.ndarray):
        return _array(value, "ndarray")
    if isinstance(value, np.generic):
        return encode(value.item(), depth)
    if isinstance(value, type):
        return {"__type__": value.__name__}
    module = type(value).__module__ or ""
    if module.startswith("torch"):
        return _torch(value, depth)
    return {"__object__": type(value).__name__}


def _array(arr: np.ndarray, kind: str, meta: dict[str, Any] | None = None, dtype_name: str | None = None) -> dict:
    # np.ascontiguousarray would turn a 0-d array into 1-d: keep the shape exactly.
    arr = np.require(arr, requirements="C")
    if arr.size > MAX_ELEMENTS:
        raise ProtocolError(f"array of {arr.size} elements is over the limit")
    return {
        "__array__": {
            "kind": kind,
            "dtype": dtype_name or arr.dtype.name,
            "wire_dtype": arr.dtype.name,
            "shape": list(arr.shape),
            "data": base64.b64encode(arr.tobytes()).decode("ascii"),
            **(meta or {}),
        }
    }


_torch_module: Any = None


def bind_torch(module: Any) -> None:
    """Use this torch from now on, so a later patch of __import__ cannot swap it."""
    global _torch_module
    _torch_module = module


def _torch(value: Any, depth: int) -> Any:
    torch = _torch_module
    if torch is None:
        import torch

    if isinstance(value, torch.Tensor):
        t = value.detach()
        name = str(t.dtype).removeprefix("torch.")
        meta = {
            "device": t.device.type,
            "requires_grad": bool(value.requires_grad),
            "has_grad": value.grad is not None if value.is_leaf else False,
        }
        if name in _WIDEN:
            t = t.to(getattr(torch, _WIDEN[name]))
        return _array(t.cpu().resolve_conj().numpy(), "tensor", meta, dtype_name=name)
    if isinstance(value, torch.dtype):
        return {"__dtype__": str(value).removeprefix("torch.")}
    if isinstance(value, torch.Size):
        return {"__tuple__": [int(v) for v in value]}
    if isinstance(value, torch.device):
        return {"__device__": value.type}
    return {"__object__": type(value).__name__}


# --- parent side ------------------------------------------------------------------


@dataclass(frozen=True)
class Array:
    """A decoded tensor or ndarray; `kind` says which the learner returned."""

    kind: str
    dtype: str
    values: np.ndarray
    device: str = "cpu"
    requires_grad: bool = False
    has_grad: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)


@dataclass(frozen=True)
class Tagged:
    """A dtype, a device, a type or an opaque object, by name."""

    tag: str
    name: str

    def __str__(self) -> str:
        if self.tag == "dtype":
            return f"torch.{self.name}"
        return self.name if self.tag != "object" else f"<{self.name} object>"


@dataclass
class _Budget:
    elements: int = field(default=MAX_ELEMENTS)


def decode(data: Any) -> Any:
    return _decode(data, 0, _Budget())


def _decode(data: Any, depth: int, budget: _Budget) -> Any:
    if depth > MAX_DEPTH + 1:
        raise ProtocolError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float)):
        return data
    if isinstance(data, str):
        if len(data) > MAX_STRING:
            raise ProtocolError("string too long")
        return data
    if isinstance(data, list):
        _items(data)
        return [_decode(v, depth + 1, budget) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ProtocolError("unexpected value shape")
    ((tag, body),) = data.items()
    if tag == "__tuple__":
        _items(body)
        return tuple(_decode(v, depth + 1, budget) for v in body)
    if tag == "__dict__":
        _items(body)
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ProtocolError("bad mapping entry")
            key = _decode(pair[0], depth + 1, budget)
            if not isinstance(key, (str, int, float, bool, tuple)) or key is None:
                raise ProtocolError("unhashable mapping key")
            out[key] = _decode(pair[1], depth + 1, budget)
        return out
    if tag == "__float__":
        if body not in ("nan", "inf", "-inf") and not _is_float(body):
            raise ProtocolError("bad float")
        return float(body)
    if tag == "__complex__":
        real, imag = (_decode(v, depth + 1, budget) for v in body)
        return complex(real, imag)
    if tag in ("__type__", "__dtype__", "__device__", "__object__"):
        if not isinstance(body, str) or len(body) > 200:
            raise ProtocolError("bad name")
        if tag == "__dtype__" and body not in ALLOWED_DTYPES | set(_WIDEN):
            raise ProtocolError(f"dtype {body!r} is not allowed")
        return Tagged(tag.strip("_"), body)
    if tag == "__array__":
        return _decode_array(body, budget)
    raise ProtocolError(f"unknown tag {tag!r}")


def _items(body: Any) -> None:
    if not isinstance(body, list) or len(body) > MAX_ITEMS:
        raise ProtocolError("container too large or malformed")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _decode_array(body: Any, budget: _Budget) -> Array:
    if not isinstance(body, dict):
        raise ProtocolError("bad array")
    dtype, wire = body.get("dtype"), body.get("wire_dtype")
    if wire not in ALLOWED_DTYPES or dtype not in ALLOWED_DTYPES | set(_WIDEN):
        raise ProtocolError(f"dtype {dtype!r} is not allowed")
    if dtype != wire and _WIDEN.get(dtype) != wire:
        raise ProtocolError("dtype and wire dtype disagree")
    shape = body.get("shape")
    if not isinstance(shape, list) or len(shape) > 16 or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ProtocolError("bad shape")
    count = math.prod(shape)
    budget.elements -= count
    if count > MAX_ELEMENTS or budget.elements < 0:
        raise ProtocolError("arrays over the size limit")
    raw = base64.b64decode(body.get("data", ""), validate=True)
    np_dtype = np.dtype(wire)
    if len(raw) != count * np_dtype.itemsize:
        raise ProtocolError("array byte count does not match its shape")
    values = np.frombuffer(raw, dtype=np_dtype).reshape(shape)
    kind = body.get("kind")
    if kind not in ("tensor", "ndarray"):
        raise ProtocolError("bad array kind")
    device = body.get("device", "cpu")
    if not isinstance(device, str) or len(device) > 20:
        raise ProtocolError("bad device")
    return Array(
        kind=kind,
        dtype=dtype,
        values=values,
        device=device,
        requires_grad=bool(body.get("requires_grad", False)),
        has_grad=bool(body.get("has_grad", False)),
    )
