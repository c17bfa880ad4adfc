"""Static rules resolve imports; the wire protocol refuses what it does not know."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from engine.checks.compare import compare, curve, properties
from engine.checks.static import check_constraints
from engine.lessons.format import Constraints, Curve, Expect
from engine.sandbox.codec import Array, ProtocolError, decode, encode


def rules(**kw):
    return Constraints(**kw)


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ny = torch.sigmoid(x)\n",
        "from torch import sigmoid\n",
        "import torch as T\ny = T.sigmoid(x)\n",
        "import torch.nn as nn\nclass M(nn.Module):\n    pass\n",
        "from torch.nn import Module\n",
        "from torch import optim\n",
        "import torch.optim\n",
    ],
)
def test_banned_names_are_found_through_aliases(code):
    found = check_constraints(code, rules(banned=["torch.sigmoid", "nn.Module", "torch.optim"]))
    assert [v.rule for v in found] == ["banned"]


def test_allowed_code_is_not_flagged():
    code = "import torch\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
    assert check_constraints(code, rules(banned=["torch.sigmoid", ".sigmoid"], no_loops=["f"])) == []


def test_loops_in_named_functions_only():
    code = "def f(x):\n    return [v for v in x]\n\ndef g(x):\n    for v in x:\n        pass\n"
    found = check_constraints(code, rules(no_loops=["f"]))
    assert len(found) == 1 and "`f` uses a list comprehension (line 2)" in found[0].message
    assert len(check_constraints(code, rules(no_loops=["*"]))) == 2
    assert "define a function named `h`" in check_constraints(code, rules(no_loops=["h"]))[0].message


def test_required_names():
    assert check_constraints("x = 1\n", rules(required=["torch.no_grad"]))[0].rule == "required"
    assert check_constraints("import torch\nwith torch.no_grad():\n    pass\n", rules(required=["torch.no_grad"])) == []


def test_wire_round_trips_tensors_and_containers():
    import torch

    value = (torch.arange(6).reshape(2, 3), {"a": 1.5, "b": [True, None]}, torch.float64, np.eye(2), float("nan"))
    back = decode(encode(value))
    arr = back[0]
    assert isinstance(arr, Array) and arr.kind == "tensor" and arr.dtype == "int64" and arr.shape == (2, 3)
    assert back[1] == {"a": 1.5, "b": [True, None]}
    assert str(back[2]) == "torch.float64"
    assert back[3].kind == "ndarray"
    assert np.isnan(back[4])


def test_wire_keeps_bfloat16_name_and_grad_flags():
    import torch

    x = torch.ones(2, dtype=torch.bfloat16, requires_grad=True)
    back = decode(encode(x))
    assert back.dtype == "bfloat16" and back.requires_grad and back.values.dtype == np.float32


@pytest.mark.parametrize(
    "payload",
    [
        {"__pickle__": "x"},
        {"__array__": {"kind": "tensor", "dtype": "object", "wire_dtype": "object", "shape": [1], "data": ""}},
        {"__array__": {"kind": "tensor", "dtype": "int64", "wire_dtype": "int64", "shape": [10**9], "data": ""}},
        {
            "__array__": {
                "kind": "tensor",
                "dtype": "int64",
                "wire_dtype": "int64",
                "shape": [2],
                "data": base64.b64encode(b"123").decode(),
            }
        },
        {"__dtype__": "object"},
        {"a": 1, "b": 2},
    ],
)
def test_wire_refuses_unknown_or_oversized_payloads(payload):
    with pytest.raises(ProtocolError):
        decode(payload)


def test_compare_reports_shape_dtype_and_values():
    import torch

    want = decode(encode(torch.zeros(2, 3)))
    assert compare(decode(encode(torch.zeros(3, 2))), want, Expect()).message.startswith("shape is (3, 2)")
    assert "dtype is float64" in compare(decode(encode(torch.zeros(2, 3, dtype=torch.float64))), want, Expect()).message
    off = compare(decode(encode(torch.full((2, 3), 0.5))), want, Expect())
    assert "max abs error 0.5" in off.message and off.expected.startswith("tensor shape=(2, 3)")
    assert compare(decode(encode(torch.zeros(2, 3).numpy())), want, Expect()).message == "expected a Tensor, got a ndarray"
    assert compare(decode(encode(torch.zeros(2, 3) + 1e-9)), want, Expect()) is None


def test_curve_properties():
    assert curve([4.0, 2.0, 1.0], Curve(decreases_by=3)) is None
    assert "fall by a factor" in curve([4.0, 3.0, 2.0], Curve(decreases_by=3)).message
    assert "NaN" in curve([1.0, float("nan")], Curve()).message
    assert properties(0.002, Expect(max=1e-3), {}).message.startswith("0.002 should be at most")
