"""PyTorch errors in plain words: each error raised for real by learner-like code, then explained.

The snippets run as the sandbox runs learner code (compiled as "<your code>"), and the
type, message and line reach `explain` the way the probe sends them (learner_traceback).
Errors this machine cannot raise (a second device, CUDA builds) are checked on the
messages PyTorch's sources write.
"""

from __future__ import annotations

import textwrap

import pytest
import torch

from engine.feedback.explain import RULES, explain
from engine.sandbox.probe import learner_traceback

FILENAME = "<your code>"


def raise_in_learner_code(code: str) -> dict:
    """Run `code` as learner code; what the probe would send back about the exception it raises."""
    with pytest.raises(Exception) as info:
        exec(compile(code, FILENAME, "exec"), {"__name__": "solution"})
    return learner_traceback(info.value, FILENAME)


def explained(code: str) -> tuple[str, dict]:
    code = textwrap.dedent(code).strip("\n") + "\n"
    sent = raise_in_learner_code(code)
    text = explain(sent["type"], sent["message"], sent["line"], code)
    assert text is not None, f"no explanation for {sent['type']}: {sent['message']}"
    line = code.splitlines()[sent["line"] - 1].strip()
    assert f"Line {sent['line']} (`{line}`)" in text, text  # names and quotes the learner's line
    assert "\n" not in text and len(text) < 700, text  # one short paragraph
    return text, sent


# (id, learner code, the line that fails, words the explanation must hold)
# fmt: off
REAL = [
    # 1. matrix products
    ("matmul", "import torch\nx = torch.randn(4, 3)\nw = torch.randn(4, 5)\ny = x @ w", 4, ["4x3", "4x5", "3 vs 4", ".shape", ".T"]),
    ("linear-in-features", "import torch\nfrom torch import nn\nmodel = nn.Linear(4, 5)\nx = torch.randn(2, 3)\nout = model(x)", 5,
     ["2x3", "4x5", "3 vs 4", "in_features (4)"]),
    ("matrix-vector", "import torch\nm = torch.randn(3, 4)\nv = torch.randn(5)\ny = m @ v", 4, ["3x4", "length 5", "4 vs 5"]),
    ("bmm-inner", "import torch\na = torch.randn(2, 3, 4)\nb = torch.randn(2, 5, 6)\nc = torch.bmm(a, b)", 4,
     ["[2, 4]", "[2, 5]", "4 vs 5", "transpose(1, 2)"]),
    ("bmm-batch", "import torch\na = torch.randn(2, 3, 4)\nb = torch.randn(3, 4, 6)\nc = torch.bmm(a, b)", 4, ["[2, 4]", "[3, 4]", "2 vs 3"]),
    # `@` broadcasts the batch dimensions, so a batch mismatch there reads as a failed broadcast
    ("matmul-batch", "import torch\na = torch.randn(2, 3, 4)\nb = torch.randn(3, 4, 6)\nc = a @ b", 4, ["`@`", "2 and 3", "dimension 0"]),
    ("dot-lengths", "import torch\na = torch.randn(3)\nb = torch.randn(4)\nd = a @ b", 4, ["lengths 3 and 4", "3 vs 4"]),
    ("matmul-0d", "import torch\nloss = torch.tensor(2.0)\ny = loss @ torch.randn(3)", 3, ["0-D", "1-D", "`*`"]),
    ("linear-0d", "import torch\nfrom torch import nn\nout = nn.Linear(3, 2)(torch.tensor(1.0))", 3, ["nn.Linear", "0-D"]),
    ("dot-2d", "import torch\nd = torch.dot(torch.randn(2, 3), torch.randn(3))", 2, ["2-D", "1-D", "torch.dot"]),
    # 2. shapes that do not combine
    ("broadcast", "import torch\na = torch.randn(2, 3)\nb = torch.randn(2, 4)\nc = a + b", 4,
     ["3 and 4", "dimension 1", "from the right", "unsqueeze", "[:, None]"]),
    ("broadcast-3d", "import torch\na = torch.randn(5, 3, 2)\nb = torch.randn(4, 2)\nc = a * b", 4, ["3 and 4", "dimension 1"]),
    ("expand", "import torch\nx = torch.randn(3)\ny = x.expand(4, 5)", 3, ["[3]", "[4, 5]", "has 3 and the target 5"]),
    ("in-place-broadcast", "import torch\ntotal = torch.zeros(3)\ntotal += torch.ones(2, 3)", 3, ["[2, 3]", "[3]", "x = x + y"]),
    ("cat", "import torch\nparts = [torch.randn(2, 3), torch.randn(2, 4)]\nx = torch.cat(parts)", 3, ["dimension 0", "has 4", "has 3"]),
    ("stack", "import torch\nx = torch.stack([torch.randn(2, 3), torch.randn(2, 4)])", 2, ["[2, 3]", "[2, 4]"]),
    ("view-count", "import torch\nx = torch.randn(12)\ny = x.view(2, 5)", 3, ["12 elements", "[2, 5]", "holds 10"]),
    ("reshape-minus-one", "import torch\nx = torch.randn(3, 4)\ny = x.reshape(-1, 5)", 3, ["[-1, 5]", "multiply to 5", "12"]),
    ("two-minus-ones", "import torch\ny = torch.randn(12).view(-1, -1)", 2, ["-1"]),
    ("dim-range", "import torch\nx = torch.randn(2, 3)\ns = x.sum(dim=2)", 3, ["dimension 2", "0..1", "-2..-1"]),
    ("conv-rank", "import torch\nfrom torch import nn\nout = nn.Conv2d(1, 2, 3)(torch.randn(5, 5))", 3, ["conv2d", "[5, 5]", "4-D", "unsqueeze(0)"]),
    ("conv-channels", "import torch\nfrom torch import nn\nconv = nn.Conv2d(3, 8, 3)\nout = conv(torch.randn(1, 1, 5, 5))", 4,
     ["[8, 3, 3, 3]", "[1, 1, 5, 5]", "expects 3 channels", "has 1"]),
    ("layer-norm", "import torch\nfrom torch import nn\nout = nn.LayerNorm(4)(torch.randn(2, 3))", 3, ["[4]", "[2, 3]"]),
    ("batch-norm", "import torch\nfrom torch import nn\nout = nn.BatchNorm1d(4)(torch.randn(2, 3))", 3, ["4 features", "3 channels"]),
    ("batch-size", "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 2]))", 3,
     ["4 predictions", "3 targets"]),
    ("multi-target", "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.randn(4, 3), torch.zeros(4, 1).long())", 3,
     ["[N]", "squeeze(1)"]),
    # 3, 4, 7. autograd
    ("leaf-in-place", """
        import torch
        w = torch.randn(3, requires_grad=True)
        loss = (w ** 2).sum()
        loss.backward()
        w -= 0.1 * w.grad
     """, 5, ["in place", "requires grad", "with torch.no_grad():"]),
    ("backward-twice", """
        import torch
        w = torch.randn(3, requires_grad=True)
        x = torch.randn(3)
        loss = (w * x).exp().sum()
        for step in range(2):
            loss.backward()
     """, 6, ["one backward", "retain_graph=True", "Recompute the forward"]),
    ("modified-in-place", """
        import torch
        a = torch.randn(3, requires_grad=True)
        b = a.sigmoid()
        b.mul_(2)
        b.sum().backward()
     """, 5, ["[3]", "Sigmoid", "version 1", "version 0", ".clone()"]),
    ("no-grad-fn", """
        import torch
        w = torch.randn(3, requires_grad=True)
        with torch.no_grad():
            loss = (w * 2).sum()
        loss.backward()
     """, 5, ["torch.no_grad()", ".detach()", ".item()", "requires_grad=True"]),
    ("backward-non-scalar", "import torch\nw = torch.randn(3, requires_grad=True)\n(w * 2).backward()", 3, [".sum()", ".mean()", "gradient="]),
    ("numpy-requires-grad", "import torch\nw = torch.randn(3, requires_grad=True)\na = w.numpy()", 3, [".detach().numpy()"]),
    ("int-requires-grad", "import torch\nw = torch.tensor([1, 2], requires_grad=True)", 2, ["integer", "dtype=torch.float32"]),
    ("item-many", "import torch\nx = torch.randn(3)\nv = x.item()", 3, ["3 elements", ".tolist()"]),
    # 5. dtypes
    ("linear-long-input", "import torch\nfrom torch import nn\nx = torch.arange(6).view(2, 3)\nout = nn.Linear(3, 2)(x)", 4,
     ["Long (int64)", "Float (float32)", ".float()", ".long()"]),
    ("matmul-long-float", "import torch\nx = torch.arange(6).view(2, 3)\ny = x @ torch.randn(3, 2)", 3, ["Long (int64)", "Float (float32)", ".float()"]),
    ("bmm-scalar-type", "import torch\na = torch.ones(2, 2, 3, dtype=torch.long)\nc = torch.bmm(a, torch.randn(2, 3, 2))", 3,
     ["expected Long (int64)", "found Float (float32)", ".float()"]),
    ("matrix-vector-dtype", "import torch\ny = torch.mv(torch.arange(6).view(2, 3), torch.randn(3))", 2, ["Long (int64)", "Float (float32)"]),
    ("dot-dtype", "import torch\nd = torch.dot(torch.arange(3), torch.randn(3))", 2, ["Long (int64)", "Float (float32)"]),
    ("cast-in-place", "import torch\ncounts = torch.zeros(3, dtype=torch.long)\ncounts += torch.rand(3)", 3, ["Float (float32)", "Long (int64)", ".float()"]),
    ("bce-logits-long-target", """
        import torch
        import torch.nn.functional as F
        logits = torch.randn(3)
        labels = torch.tensor([1, 0, 1])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
     """, 5, ["Float (float32)", "Long (int64)", ".float()"]),
    ("cross-entropy-float-target", """
        import torch
        import torch.nn.functional as F
        logits = torch.randn(4, 3)
        labels = torch.tensor([0.0, 1.0, 2.0, 1.0])
        loss = F.cross_entropy(logits, labels)
     """, 5, ["Float (float32)", "Long (int64)", ".long()"]),
    ("cross-entropy-long-input", "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.arange(12).view(4, 3), torch.tensor([0, 1, 2, 1]))", 3,
     ["log_softmax", "Long (int64)", ".float()"]),
    ("nll-long-input", "import torch\nimport torch.nn.functional as F\nloss = F.nll_loss(torch.arange(12).view(4, 3), torch.tensor([0, 1, 2, 1]))", 3,
     ["nll_loss", "Long (int64)", ".float()"]),
    ("probabilities-long", "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.randn(4, 3), torch.eye(3)[[0, 1, 2, 1]].long())", 3,
     ["Long (int64)", "probabilities", ".float()", "argmax(dim=1)"]),
    ("bce-long-target", "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy(torch.rand(3), torch.tensor([1, 0, 1]))", 3,
     ["Long (int64)", "Float (float32)", ".float()"]),
    ("linear-double", "import torch\nfrom torch import nn\nx = torch.randn(2, 3, dtype=torch.float64)\nout = nn.Linear(3, 2)(x)", 4,
     ["Double (float64)", "Float (float32)", "NumPy", ".float()"]),
    ("conv-double", "import torch\nfrom torch import nn\nout = nn.Conv2d(1, 2, 3)(torch.randn(1, 1, 5, 5).double())", 3, ["Double (float64)", "Float (float32)"]),
    ("conv-long", "import torch\nfrom torch import nn\nout = nn.Conv2d(1, 2, 3)(torch.ones(1, 1, 5, 5, dtype=torch.long))", 3, ["Long (int64)", "Float (float32)"]),
    ("lstm-double", "import torch\nfrom torch import nn\nout = nn.LSTM(3, 4)(torch.randn(2, 1, 3).double())", 3, ["Double (float64)", "Float (float32)"]),
    ("batch-norm-long", "import torch\nfrom torch import nn\nout = nn.BatchNorm1d(3)(torch.ones(2, 3, dtype=torch.long))", 3, ["batch_norm", "Long (int64)", ".float()"]),
    ("embedding-float-ids", "import torch\nfrom torch import nn\nemb = nn.Embedding(10, 4)\nv = emb(torch.tensor([1.0, 2.0]))", 4, ["Float (float32)", "Embedding", ".long()"]),
    ("gather-float-index", "import torch\nx = torch.randn(3, 4).gather(1, torch.tensor([[1.0]]))", 2, ["gather", ".long()"]),
    ("float-indices", "import torch\nx = torch.randn(3)\ny = x[torch.tensor([1.0])]", 3, ["floating-point", ".long()"]),
    ("one-hot-float", "import torch\nimport torch.nn.functional as F\ny = F.one_hot(torch.tensor([1.0, 2.0]))", 3, ["one_hot", ".long()"]),
    ("mean-of-ints", "import torch\nm = torch.arange(5).mean()", 2, ["mean()", "Long (int64)", "x.float().mean()"]),
    # 6. devices (meta stands in for a second device: the only one a CPU machine has)
    ("meta-and-cpu", "import torch\na = torch.randn(3)\nb = torch.randn(3, device='meta')\nc = a + b", 4, ["cpu and meta", ".to(device)"]),
    # 8. view after transpose
    ("view-transposed", "import torch\nx = torch.randn(3, 4)\nxt = x.t()\nflat = xt.view(12)", 4, [".transpose", ".reshape(...)", ".contiguous().view"]),
    # 9. indices
    ("index-bounds", "import torch\nx = torch.zeros(5)\nfor i in range(6):\n    x[i] = i", 4, ["index 5", "size 5", "0..4", "-5..-1"]),
    ("index-bounds-dim1", "import torch\nx = torch.zeros(3, 5)\ncol = x[:, 7]", 3, ["index 7", "dimension 1", "0..4"]),
    ("embedding-id", "import torch\nfrom torch import nn\nemb = nn.Embedding(10, 4)\nv = emb(torch.tensor([3, 12]))", 4, ["num_embeddings", "vocabulary"]),
    ("target-bounds", """
        import torch
        import torch.nn.functional as F
        logits = torch.randn(4, 3)
        labels = torch.tensor([0, 1, 3, 1])
        loss = F.cross_entropy(logits, labels)
     """, 5, ["label 3", "0..C-1", "at least 4 classes", "start at 1"]),
    ("target-negative", "import torch\nimport torch.nn.functional as F\nloss = F.cross_entropy(torch.randn(4, 3), torch.tensor([0, -2, 1, 1]))", 3,
     ["label -2", "ignore_index"]),
    ("zero-dim-index", "import torch\nloss = torch.tensor(3.0)\nfirst = loss[0]", 3, ["0-D", ".item()"]),
]
# fmt: on


@pytest.mark.parametrize(("code", "line", "words"), [c[1:] for c in REAL], ids=[c[0] for c in REAL])
def test_a_real_error_is_explained_on_the_learners_line(code, line, words):
    text, sent = explained(code)
    assert sent["line"] == line
    for word in words:
        assert word in text, f"{word!r} missing from: {text}"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU, so .cuda() works")
def test_asking_for_cuda_without_a_gpu_says_how_to_choose_the_device():
    text, sent = explained("import torch\nx = torch.ones(3)\nx = x.cuda()")
    assert sent["line"] == 3
    assert 'device = "cuda" if torch.cuda.is_available() else "cpu"' in text and ".to(device)" in text


# Messages this machine cannot raise (no GPU, a CUDA build of torch), as PyTorch writes them, and one
# that costs seconds to raise (torch.optim's first import).
# fmt: off
WRITTEN = [
    ("AssertionError", "Torch not compiled with CUDA enabled", ["without CUDA", "torch.cuda.is_available()"]),
    ("RuntimeError", "No CUDA GPUs are available", ["no CUDA GPU", "torch.cuda.is_available()"]),
    ("RuntimeError", "CUDA initialization: No CUDA GPUs are available", ["no CUDA GPU"]),
    ("RuntimeError", "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver "
                     "from http://www.nvidia.com/Download/index.aspx", ["NVIDIA driver", "torch.cuda.is_available()"]),
    ("RuntimeError", "CUDA driver initialization failed, you might not have a CUDA gpu.", ["torch.cuda.is_available()"]),
    ("RuntimeError", "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
     ["cuda:0 and cpu", ".to(device)", "torch.cuda.is_available()"]),
    ("RuntimeError", "Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0! "
                     "(when checking argument for argument mat1 in method wrapper_CUDA_addmm)", ["cpu and cuda:0", "mat1", ".to(device)"]),
    ("RuntimeError", "Expected all tensors to be on the same device, but got mat1 is on cpu, different from other tensors on cuda:0 "
                     "(when checking argument in method wrapper_CUDA_addmm)", ["cuda:0 and cpu", "mat1", ".to(device)"]),
    ("RuntimeError", "Tensor on device cpu is not on the expected device cuda:0!", ["cuda:0 and cpu", ".to(device)"]),
    ("RuntimeError", "Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same or input should be a "
                     "MKLDNN tensor and weight is a dense tensor", ["input is on the GPU", "CPU", ".to(device)"]),
    ("RuntimeError", "Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same or input should be a "
                     "MKLDNN tensor and weight is a dense tensor", ["weight is on the GPU", ".to(device)"]),
    ("RuntimeError", "Expected object of device type cuda but got device type cpu for argument #1 'self' in call to _th_mm",
     ["cuda and cpu", ".to(device)"]),
    ("TypeError", "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.",
     ["cuda:0", ".detach().cpu().numpy()"]),
    ("RuntimeError", "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you are running "
                     "on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') to map your storages to the CPU.",
     ["map_location=device"]),
    ("OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB", ["2.00 GiB", "smaller batch"]),
    ("RuntimeError", "CUDA error: device-side assert triggered\nCUDA kernel errors might be asynchronously reported", ["CPU", "labels.max()"]),
    # older or CUDA-only dtype messages
    ("RuntimeError", "expected scalar type Long but found Float", ["expected Long (int64)", "found Float (float32)"]),
    ("NotImplementedError", "\"nll_loss_forward_reduce_cuda_kernel_2d_index\" not implemented for 'Float'", ["Float (float32)", ".long()"]),
    ("RuntimeError", "mat1 and mat2 must have the same dtype", [".dtype", ".float()", ".long()"]),
    ("RuntimeError", "expected m1 and m2 to have the same dtype, but got: c10::Half != float", ["Half (float16)", "Float (float32)", "autocast"]),
    ("RuntimeError", "Input type (c10::BFloat16) and bias type (float) should be the same", ["BFloat16 (bfloat16)", "Float (float32)"]),
    ("NotImplementedError", "\"addmm_impl_cpu_\" not implemented for 'Half'", ["addmm_impl_cpu_", "Half (float16)", ".float()"]),
    ("IndexError", "index 5 is out of bounds for axis 0 with size 5", ["index 5", "0..4"]),  # NumPy's spelling
    # torch.optim.SGD([torch.randn(3, requires_grad=True) * 2], lr=0.1) on torch 2.14
    ("ValueError", "can't optimize a non-leaf Tensor", ["leaves", "nn.Parameter"]),
]
# fmt: on


@pytest.mark.parametrize(("error_type", "message", "words"), WRITTEN, ids=[w[1][:40] for w in WRITTEN])
def test_a_written_message_is_explained(error_type, message, words):
    code = "import torch\nout = model(x)\n"
    text = explain(error_type, message, 2, code)
    assert text is not None and "Line 2 (`out = model(x)`)" in text, text
    for word in words:
        assert word in text, f"{word!r} missing from: {text}"


def test_every_rule_in_the_table_is_exercised():
    messages = [m for _, m, _ in WRITTEN]
    for _, code, _, _ in REAL:
        messages.append(raise_in_learner_code(textwrap.dedent(code))["message"])
    unused = [p.pattern for p, _ in RULES if not any(p.search(m) for m in messages)]
    assert not unused


@pytest.mark.parametrize(
    ("error_type", "message"),
    [
        ("ValueError", "bad"),
        ("NameError", "name 'x' is not defined"),
        ("TypeError", "linear(): argument 'input' (position 1) must be Tensor, not numpy.ndarray"),
        ("RuntimeError", ""),
    ],
)
def test_an_unknown_error_gets_no_explanation(error_type, message):
    assert explain(error_type, message, 1, "x = 1\n") is None


def test_a_real_unknown_error_gets_none():
    sent = raise_in_learner_code("raise ValueError('bad')\n")
    assert explain(sent["type"], sent["message"], sent["line"], "raise ValueError('bad')\n") is None


def test_markup_looking_text_stays_plain():
    message = "Expected all tensors to be on the same device, but found at least two devices, [bold]cuda:0 and cpu!"
    code = "x = y  # [bold]not markup[/bold]\n"
    text = explain("RuntimeError", message, 1, code)
    assert text is not None
    assert "[bold]cuda:0" in text and "# [bold]not markup[/bold]" in text
    assert "\\[" not in text  # nothing escaped here: the caller escapes


def test_without_a_line_or_code_the_paragraph_still_reads():
    message = "a leaf Variable that requires grad is being used in an in-place operation."
    assert explain("RuntimeError", message).startswith("Your code changes")
    assert explain("RuntimeError", message, 7).startswith("Line 7 changes")
    assert explain("RuntimeError", message, 9, "x = 1\n").startswith("Line 9 changes")  # past the end: no quote
    assert explain("RuntimeError", message, 1, "\n").startswith("Line 1 changes")  # a blank line: no quote


def test_a_long_line_is_quoted_shortened():
    code = "y = " + " + ".join(f"torch.ones({i})" for i in range(40)) + "\n"
    text = explain(
        "RuntimeError", "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0", 1, code
    )
    assert text is not None
    quote = text[text.index("(`") + 2 : text.index("`)")]
    assert quote.endswith("...") and len(quote) <= 80 and code.startswith(quote[:-3])


def test_the_type_name_does_not_decide():
    message = "index 5 is out of bounds for dimension 0 with size 5"
    assert explain("IndexError", message) == explain("RuntimeError", message)
