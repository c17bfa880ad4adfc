"""Common PyTorch errors in plain words: one short paragraph shown beside the trimmed traceback.

The sandboxed child sends back the exception's type name, `str(exc)` and the
learner's line (engine.sandbox.probe.learner_traceback); `explain` turns that
into two or three sentences that quote the learner's line, name the shapes or
dtypes the message names, and say what to do.  Matching is on the message text
(PyTorch raises the same words as RuntimeError, IndexError, NotImplementedError
or ValueError across versions), through one table of (pattern, builder) rules,
first match wins.  The text is plain: no Rich markup is added, and whatever the
message or the code holds is passed through as is (the caller escapes it).

The patterns follow the messages of PyTorch 2.x as raised for real (checked
against 2.14 on CPU; the CUDA-only ones from PyTorch's sources).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from math import prod

Builder = Callable[[re.Match[str], str], str]

MAX_QUOTE = 80  # characters of the learner's line quoted before "..."

# --- small helpers --------------------------------------------------------------------------

# torch's several spellings of a dtype (messages print C++ names, Python names or tensor types)
_DTYPES = {
    "long": "Long",
    "long int": "Long",
    "int64": "Long",
    "int": "Int",
    "int32": "Int",
    "short": "Short",
    "int16": "Short",
    "char": "Char",
    "signed char": "Char",
    "int8": "Char",
    "byte": "Byte",
    "unsigned char": "Byte",
    "uint8": "Byte",
    "bool": "Bool",
    "float": "Float",
    "float32": "Float",
    "double": "Double",
    "float64": "Double",
    "half": "Half",
    "float16": "Half",
    "bfloat16": "BFloat16",
}
_PYTHON_NAME = {
    "Long": "int64",
    "Int": "int32",
    "Short": "int16",
    "Char": "int8",
    "Byte": "uint8",
    "Bool": "bool",
    "Float": "float32",
    "Double": "float64",
    "Half": "float16",
    "BFloat16": "bfloat16",
}
_INTEGER = {"Long", "Int", "Short", "Char", "Byte", "Bool"}


def _dtype_name(text: str) -> str:
    """'long int', 'torch.float64', 'torch.cuda.FloatTensor', 'c10::Half' -> 'Long', 'Double', 'Float', 'Half'."""
    t = text.strip().lower()
    for prefix in ("torch.", "cuda.", "c10::"):
        t = t.removeprefix(prefix)
    if t.endswith("tensor") and t != "tensor":
        t = t.removesuffix("tensor")
    return _DTYPES.get(t, text.strip())


def _dtype(text: str) -> str:
    """A dtype as the learner meets it: 'Long (int64)'."""
    name = _dtype_name(text)
    python = _PYTHON_NAME.get(name)
    return f"{name} ({python})" if python else name


def _dtype_fix(a: str, b: str) -> str:
    """Which side to convert, for two dtypes that met in one operation."""
    a, b = _dtype_name(a), _dtype_name(b)
    if (a in _INTEGER) != (b in _INTEGER):
        whole, frac = (a, b) if a in _INTEGER else (b, a)
        return (
            f"Make them agree: `.float()` on the {whole} tensor if it is data going into a layer or `@`, "
            f"or `.long()` on the {frac} one if it holds class targets or indices."
        )
    if {a, b} == {"Double", "Float"}:
        return (
            "Double usually comes from NumPy (float64) or `dtype=torch.double`: call `.float()` on it "
            "(for example `torch.from_numpy(a).float()`) so it matches the model's Float weights."
        )
    if {a, b} & {"Half", "BFloat16"}:
        return "Convert the odd one out with `.float()` (or `.to(other.dtype)`), or run the step under `torch.autocast`."
    return "Convert one to the other's dtype with `.to(other.dtype)`."


def _where(line: int | None, code: str) -> str:
    """The sentence's subject: 'Line 3 (`y = x @ w`)', 'Line 3' or 'Your code'."""
    if line is None:
        return "Your code"
    lines = code.splitlines()
    text = lines[line - 1].strip() if 1 <= line <= len(lines) else ""
    if len(text) > MAX_QUOTE:
        text = text[: MAX_QUOTE - 3].rstrip() + "..."
    return f"Line {line} (`{text}`)" if text else f"Line {line}"


def _sizes(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"-?\d+", text)]


def _shape(text: str) -> str:
    return "[" + ", ".join(str(n) for n in _sizes(text)) + "]"


# --- 1. matrix products -----------------------------------------------------------------------


def _mm_shapes(m: re.Match[str], where: str) -> str:
    r1, c1, r2, c2 = m.groups()
    return (
        f"{where} multiplies a {r1}x{c1} matrix by a {r2}x{c2} one, but in a matrix product the inner sizes must agree: "
        f"the first one's columns ({c1}) against the second one's rows ({r2}), and here {c1} vs {r2} do not. "
        f"Print both `.shape`s and transpose one side (`.T`) if it is the wrong way round; "
        f"for an nn.Linear, the input's last size ({c1}) must equal its in_features ({r2})."
    )


def _mv_shapes(m: re.Match[str], where: str) -> str:
    rows, cols, vec = m.group("rows"), m.group("cols"), m.group("vec")
    return (
        f"{where} multiplies a {rows}x{cols} matrix by a vector of length {vec}; the matrix's columns ({cols}) "
        f"must equal the vector's length ({vec}), and {cols} vs {vec} do not. "
        f"Check both with `.shape`: the matrix may need transposing (`.T`), or the vector is the wrong one."
    )


def _bmm_shapes(m: re.Match[str], where: str) -> str:
    b1, k1, b2, k2 = m.groups()
    problems = []
    if b1 != b2:
        problems.append(f"the batch sizes must be equal and are {b1} vs {b2}")
    if k1 != k2:
        problems.append(
            f"the inner sizes must agree (the first tensor's last size against the second's middle one) and are {k1} vs {k2}"
        )
    detail = " and ".join(problems) or "they do not line up"
    return (
        f"{where} does a batched matrix product (bmm, or `@` on 3-D tensors) whose second tensor should start "
        f"[{b1}, {k1}] but starts [{b2}, {k2}]: {detail}. "
        f"Print both `.shape`s; to swap a tensor's last two dimensions use `.transpose(1, 2)`."
    )


def _dot_sizes(m: re.Match[str], where: str) -> str:
    a, b = m.group("a"), m.group("b")
    return (
        f"{where} takes the dot product of two 1-D tensors of lengths {a} and {b} (`@` on two vectors, or torch.dot); "
        f"they must have the same length, and {a} vs {b} do not. "
        f"Print both `.shape`s; if one should be a matrix, give it two dimensions first (`.reshape`)."
    )


def _zero_dim_matmul(m: re.Match[str], where: str) -> str:
    op, a, b = m.group("op"), m.group("a"), m.group("b")
    what = "a layer (nn.Linear)" if op == "linear" else "`@` / torch.matmul"
    return (
        f"{where} gives {what} a {a}-D and a {b}-D tensor; a 0-D tensor (a single number, such as a loss or "
        f"`torch.tensor(2.0)`) cannot take part in a matrix product. "
        f"Multiply by a number with `*` instead, or give the tensor a shape (for example `.reshape(1, -1)`)."
    )


def _dot_needs_vectors(m: re.Match[str], where: str) -> str:
    a, b = m.groups()
    return (
        f"{where} calls torch.dot on a {a}-D and a {b}-D tensor, but torch.dot takes two 1-D vectors only. "
        f"Use `@` (torch.matmul) for matrices, or flatten both sides to vectors."
    )


# --- 2. shapes that do not combine ------------------------------------------------------------


def _broadcast(m: re.Match[str], where: str) -> str:
    a, b, dim = m.group("a"), m.group("b"), m.group("dim")
    return (
        f"{where} combines two tensors whose shapes must broadcast (elementwise operations, and the batch dimensions of `@`): "
        f"lined up from the right, each pair of sizes must be equal or one of them 1. "
        f"At dimension {dim}, counted from the left of the aligned shapes, your tensors have {a} and {b} where they meet. "
        f"Print both `.shape`s, then add a size-1 axis where one should stretch (`x.unsqueeze(1)` or `x[:, None]`) "
        f"or reshape one side so the sizes line up."
    )


def _expand(m: re.Match[str], where: str) -> str:
    new, old, dim = m.group("new"), m.group("old"), m.group("dim")
    return (
        f"{where} expands a tensor of shape {_shape(m.group('have'))} to {_shape(m.group('want'))}, but expand only "
        f"stretches sizes of 1: at dimension {dim} the tensor has {old} and the target {new}. "
        f"Give it a size-1 axis where it should repeat (`.unsqueeze`), or use `.repeat`/`.reshape` if the counts really differ."
    )


def _inplace_broadcast(m: re.Match[str], where: str) -> str:
    out, full = _shape(m.group("out")), _shape(m.group("full"))
    return (
        f"{where} writes a result of shape {full} into a tensor of shape {out} in place (`+=`, `*=` or a method ending in `_`); "
        f"an in-place operation cannot grow the tensor it writes into. "
        f"Use the out-of-place form (`x = x + y`), or make the other operand fit {out}."
    )


def _cat_sizes(m: re.Match[str], where: str) -> str:
    dim, want, got, n = m.group("dim"), m.group("want"), m.group("got"), m.group("n")
    return (
        f"{where} concatenates tensors along dimension {dim}, so every other dimension must match, but tensor "
        f"number {n} in the list has {got} where the first has {want}. "
        f"Print each `.shape`; perhaps the tensors should be joined along another `dim=`."
    )


def _stack_sizes(m: re.Match[str], where: str) -> str:
    s1, i1, s2, i2 = _shape(m.group("s1")), m.group("i1"), _shape(m.group("s2")), m.group("i2")
    return (
        f"{where} stacks tensors that must all have the same shape, but entry {i1} is {s1} and entry {i2} is {s2}. "
        f"Make them the same shape first (crop or pad), or use torch.cat to join along an existing dimension."
    )


def _view_count(m: re.Match[str], where: str) -> str:
    dims, n = _sizes(m.group("shape")), int(m.group("n"))
    known = prod(d for d in dims if d != -1)
    shape = _shape(m.group("shape"))
    if -1 in dims:
        count = f"with -1 the other sizes multiply to {known}, and {n} is not a multiple of {known}"
    else:
        count = f"{shape} holds {known} elements but the tensor has {n}"
    return (
        f"{where} reshapes a tensor of {n} elements to {shape}, and {count}: view and reshape never add or drop elements. "
        f"Print `.shape` and pick sizes whose product is {n} (one of them may be -1)."
    )


def _two_inferred(m: re.Match[str], where: str) -> str:
    return (
        f"{where} passes -1 for more than one size to view/reshape, but only one size can be worked out from the rest. "
        f"Give every size but one explicitly."
    )


def _dim_range(m: re.Match[str], where: str) -> str:
    lo, hi, got = m.group("lo"), m.group("hi"), m.group("got")
    return (
        f"{where} asks for dimension {got}, but valid dims here run 0..{hi} (or {lo}..-1 counted from the end), "
        f"so the tensor has fewer dimensions than you expect. "
        f"Print its `.shape`; a missing batch axis can be added with `.unsqueeze(0)`."
    )


def _conv_rank(m: re.Match[str], where: str) -> str:
    a, b, op, shape = m.group("a"), m.group("b"), m.group("op"), _shape(m.group("shape"))
    return (
        f"{where} gives {op} an input of shape {shape}, but it takes {b}-D input (batch, channels, ...) or {a}-D without the batch. "
        f"Add the missing axes with `.unsqueeze(0)` (batch) or `.unsqueeze(1)` (one channel)."
    )


def _conv_channels(m: re.Match[str], where: str) -> str:
    weight, inp, want, got = _shape(m.group("weight")), _shape(m.group("input")), m.group("want"), m.group("got")
    return (
        f"{where} gives a convolution with weight {weight} an input of shape {inp}: the layer expects {want} channels "
        f"(dimension 1 of the input) but the input has {got}. "
        f"Set the layer's in_channels to {got}, or check the input's layout is (batch, channels, height, width) and `.permute` it if the channels come last."
    )


def _layer_norm(m: re.Match[str], where: str) -> str:
    norm, got = _shape(m.group("norm")), _shape(m.group("got"))
    return (
        f"{where} applies a LayerNorm over {norm} to an input of shape {got}; the input's last dimensions must equal {norm}. "
        f"Make the LayerNorm's size match the input's last size."
    )


def _batch_norm(m: re.Match[str], where: str) -> str:
    got, want = m.group("got"), m.group("want")
    return (
        f"{where} runs a BatchNorm made for {want} features on an input with {got} channels (dimension 1). "
        f"Give the BatchNorm {got} features, or check which dimension of the input holds the channels."
    )


def _batch_size(m: re.Match[str], where: str) -> str:
    a, b = m.group("a"), m.group("b")
    return (
        f"{where} computes a loss from {a} predictions and {b} targets; there must be one target per row of predictions. "
        f"Print both `.shape`s: the logits may need flattening (`.reshape(-1, num_classes)`) to match the targets, or the batch was cut differently."
    )


def _multi_target(m: re.Match[str], where: str) -> str:
    return (
        f"{where} gives cross_entropy/nll_loss a target with more than one dimension where it wants one class index per row (shape [N]). "
        f"Drop a size-1 axis with `.squeeze(1)`, or turn one-hot targets into indices with `.argmax(dim=1)`."
    )


# --- 3, 4, 7. autograd --------------------------------------------------------------------------


def _leaf_inplace(m: re.Match[str], where: str) -> str:
    return (
        f"{where} changes a tensor that requires grad (a leaf, such as a weight made with requires_grad=True) in place, "
        f"with `-=`, `+=`, an assignment into it or a method ending in `_`; autograd forbids that because it would lose the value the gradient needs. "
        f"Do manual weight updates inside `with torch.no_grad():` (then zero `.grad`), or let an optimizer do them."
    )


def _modified_inplace(m: re.Match[str], where: str) -> str:
    shape, op = _shape(m.group("shape")), m.group("op").removesuffix("Backward0").removesuffix("Backward1")
    return (
        f"{where} runs backward, but a tensor of shape {shape} (output {m.group('out')} of {op}) that the gradient needs "
        f"was changed in place after it was made (it is at version {m.group('now')}, autograd saved version {m.group('then')}). "
        f"Replace that in-place change (`x += ...`, `x[...] = ...`, `.relu_()`) with an out-of-place one (`x = x + ...`), or `.clone()` the tensor first."
    )


def _backward_twice(m: re.Match[str], where: str) -> str:
    return (
        f"{where} runs backward through a graph whose saved values an earlier `.backward()` already freed: "
        f"each forward pass builds a graph that one backward uses up. "
        f"Recompute the forward (model output and loss) in every training step, or `.detach()` a value carried over from "
        f"the last step; `retain_graph=True` is only for the rare case that truly needs two backward passes through one graph."
    )


def _no_grad_fn(m: re.Match[str], where: str) -> str:
    return (
        f"{where} calls backward on a value that is not connected to any tensor that requires grad, so there is no graph to go back through. "
        f"The loss was computed without one: under `torch.no_grad()`, after `.detach()`, `.item()` or `.numpy()` (which leave autograd), "
        f"or from tensors none of which has requires_grad=True; compute it from the model's output with tensor operations instead."
    )


def _non_scalar_backward(m: re.Match[str], where: str) -> str:
    return (
        f"{where} calls `.backward()` on a tensor with more than one element; without arguments backward needs a single "
        f"number, such as a loss. Reduce it first with `.sum()` or `.mean()`, or pass `gradient=` a tensor of the same shape."
    )


def _numpy_grad(m: re.Match[str], where: str) -> str:
    return (
        f"{where} calls `.numpy()` on a tensor that is part of the autograd graph (it requires grad). "
        f"Take it out of the graph first: `t.detach().numpy()` (with `.cpu()` before `.numpy()` for a GPU tensor)."
    )


def _non_leaf_optim(m: re.Match[str], where: str) -> str:
    return (
        f"{where} gives an optimizer a tensor that was computed from others (for example `torch.randn(3, requires_grad=True) * 2`), "
        f"and only leaves can be optimized. Create the parameter directly with its final value and requires_grad=True "
        f"(scale inside `torch.no_grad()` or before setting requires_grad), or use nn.Parameter."
    )


def _int_requires_grad(m: re.Match[str], where: str) -> str:
    return (
        f"{where} asks for gradients of an integer tensor, and only floating-point tensors can have them. "
        f"Write the numbers as floats (`1.0`) or pass `dtype=torch.float32`."
    )


def _item_many(m: re.Match[str], where: str) -> str:
    n = m.group("n")
    return (
        f"{where} turns a tensor with {n} elements into one Python number (`.item()`, `float()` or `int()`), which needs exactly one element. "
        f"Reduce it first (`.sum()`, `.mean()`), index one element, or use `.tolist()` for all of them."
    )


# --- 5. dtypes ----------------------------------------------------------------------------------


def _scalar_type(m: re.Match[str], where: str) -> str:
    want, got = m.group("want"), m.group("got")
    return f"{where} mixes dtypes: an operation expected {_dtype(want)} but found {_dtype(got)}. {_dtype_fix(want, got)}"


def _matmul_dtypes(m: re.Match[str], where: str) -> str:
    a, b = m.group("a"), m.group("b")
    if a is None or b is None:  # older torch named no dtypes
        return (
            f"{where} multiplies tensors of two different dtypes (an nn.Linear's input against its weights counts too), "
            f"and both sides must have the same dtype. Print both `.dtype`s, then use `.float()` on data going into a layer or `@`, "
            f"and `.long()` only for class targets or indices."
        )
    return (
        f"{where} multiplies tensors of two dtypes, {_dtype(a)} and {_dtype(b)} (an nn.Linear's input against its weights counts too), "
        f"and both sides must have the same dtype. {_dtype_fix(a, b)}"
    )


def _addmv_dtypes(m: re.Match[str], where: str) -> str:
    names = [m.group("a"), m.group("b"), m.group("c")]
    odd = next((n for n in names if names.count(n) == 1), names[0])
    common = next((n for n in names if n != odd), names[-1])
    return (
        f"{where} multiplies a matrix by a vector of different dtypes ({_dtype(odd)} against {_dtype(common)}); both must match. "
        f"{_dtype_fix(odd, common)}"
    )


def _cast_result(m: re.Match[str], where: str) -> str:
    result, out = m.group("result"), m.group("out")
    return (
        f"{where} computes a {_dtype(result)} result that must be written into a {_dtype(out)} tensor: usually an in-place "
        f"`+=`/`*=` on an integer tensor, or integer labels given to a loss that wants float targets (binary_cross_entropy_with_logits). "
        f"Make the receiving tensor {_dtype_name(result)} (`.float()`, or create it with `dtype=torch.float32`), or convert the labels with `.float()`."
    )


def _not_implemented(m: re.Match[str], where: str) -> str:
    kernel, dtype = m.group("kernel"), m.group("dtype")
    name = _dtype_name(dtype)
    if name in _INTEGER:
        return (
            f"{where} runs an operation ({kernel}) on a {_dtype(dtype)} tensor, and it only works on floating-point ones. "
            f"Convert that input with `.float()`; class labels stay `.long()` but belong in the target, not the input."
        )
    if "index" in kernel or "target" in kernel:
        return (
            f"{where} gives {_dtype(dtype)} values where whole numbers are needed ({kernel}): the targets of cross_entropy/nll_loss "
            f"are class indices of dtype Long (int64). Convert them with `.long()`."
        )
    return (
        f"{where} runs an operation ({kernel}) that has no {_dtype(dtype)} version on this device. "
        f"Convert the tensor with `.float()` first."
    )


def _target_dtype(m: re.Match[str], where: str) -> str:
    got = m.group("got")
    return (
        f"{where} gives cross_entropy/nll_loss {_dtype(got)} targets, but it wants class indices as Long (int64) integers, one per row. "
        f"Convert them with `.long()`; one-hot or probability targets must instead be Float with the logits' shape (or become indices with `.argmax(dim=1)`)."
    )


def _prob_target(m: re.Match[str], where: str) -> str:
    got = m.group("got")
    return (
        f"{where} gives cross_entropy a {_dtype(got)} target with the logits' shape, which it reads as class probabilities, and those must be Float. "
        f"Pass class indices instead (`target.argmax(dim=1)`, Long, one per row) or convert the target with `.float()`."
    )


def _found_dtype(m: re.Match[str], where: str) -> str:
    got, want = m.group("got"), m.group("want")
    fix = ".long()" if _dtype_name(want) in _INTEGER else ".float()"
    return (
        f"{where} gives a loss a {_dtype(got)} tensor where {_dtype(want)} is expected, typically integer labels for "
        f"binary_cross_entropy or mse_loss. Convert the target with `{fix}`."
    )


def _layer_types(m: re.Match[str], where: str) -> str:
    inp, param, ptype = m.group("input"), m.group("param"), m.group("ptype")
    if ("cuda" in inp.lower()) != ("cuda" in ptype.lower()):
        on_gpu = "the input" if "cuda" in inp.lower() else f"the layer's {param}"
        other = f"the layer's {param}" if on_gpu == "the input" else "the input"
        return (
            f"{where} feeds a layer where {on_gpu} is on the GPU ({inp if on_gpu == 'the input' else ptype}) and {other} is on the CPU; "
            f"both must be on the same device. Move the model and every batch with `.to(device)`, "
            f'where `device = "cuda" if torch.cuda.is_available() else "cpu"`.'
        )
    return f"{where} feeds a {_dtype(inp)} input to a layer whose {param} is {_dtype(ptype)}; they must match. {_dtype_fix(inp, ptype)}"


def _index_dtype_arg(m: re.Match[str], where: str) -> str:
    arg, allowed, got = m.group("arg"), m.group("allowed"), m.group("got")
    return (
        f"{where} passes {_dtype(got)} values as '{arg}', which must be integers ({allowed.strip()}); with nn.Embedding the token ids must be whole numbers. "
        f"Convert them with `.long()`."
    )


def _index_dtype_op(m: re.Match[str], where: str) -> str:
    op = m.group("op")
    return (
        f"{where} calls {op} with an index tensor that is not integer; indices must be Long (int64) or Int (int32). "
        f"Convert the index with `.long()`."
    )


def _float_indices(m: re.Match[str], where: str) -> str:
    return (
        f"{where} indexes a tensor with a floating-point tensor; indices must be Long/Int (positions) or Bool (a mask). "
        f"Convert positions with `.long()`, or compare to get a mask (`x[x > 0]`)."
    )


def _one_hot(m: re.Match[str], where: str) -> str:
    return (
        f"{where} calls one_hot on a tensor that is not Long (int64); it takes class indices as whole numbers. "
        f"Convert them with `.long()` first."
    )


def _rnn_dtype(m: re.Match[str], where: str) -> str:
    inp, weight = m.group("input"), m.group("weight")
    return (
        f"{where} feeds a {_dtype(inp)} input to a recurrent layer whose weights are {_dtype(weight)}. {_dtype_fix(inp, weight)}"
    )


def _mean_of_ints(m: re.Match[str], where: str) -> str:
    op, got = m.group("op"), m.group("got")
    return (
        f"{where} takes {op}() of a {_dtype(got)} tensor, but an average of whole numbers is a fraction, so it needs a floating-point tensor. "
        f"Convert first: `x.float().{op}()`."
    )


# --- 6, 10. devices and CUDA --------------------------------------------------------------------

_CHOOSE_DEVICE = '`device = "cuda" if torch.cuda.is_available() else "cpu"`'


def _two_devices(a: str, b: str, where: str, extra: str = "") -> str:
    return (
        f"{where} mixes tensors on two devices, {a} and {b}{extra}; every tensor in one operation, the model's weights included, "
        f"must be on the same device. Pick the device once ({_CHOOSE_DEVICE}) and move the model and every batch with `.to(device)` "
        f"(a tensor created inside the code needs `device=device` too)."
    )


def _devices_found(m: re.Match[str], where: str) -> str:
    arg, method = m.group("arg"), m.group("method")
    extra = f" (argument {arg} of {method})" if arg and method else ""
    return _two_devices(m.group("a"), m.group("b"), where, extra)


def _devices_got(m: re.Match[str], where: str) -> str:
    arg, on, common, method = m.group("arg"), m.group("on"), m.group("common"), m.group("method")
    return _two_devices(common, on, where, f" ({arg} of {method} is on {on})")


def _not_expected_device(m: re.Match[str], where: str) -> str:
    return _two_devices(m.group("expected"), m.group("on"), where)


def _device_type(m: re.Match[str], where: str) -> str:
    return _two_devices(m.group("want"), m.group("got"), where)


def _numpy_device(m: re.Match[str], where: str) -> str:
    dev = m.group("dev")
    return (
        f"{where} calls `.numpy()` on a tensor on {dev}; NumPy arrays live in CPU memory. "
        f"Copy it over first: `t.detach().cpu().numpy()`."
    )


def _no_cuda(reason: str) -> Builder:
    def build(m: re.Match[str], where: str) -> str:
        return (
            f"{where} asks for the GPU (`.cuda()` or `device='cuda'`), but {reason}. "
            f"Choose the device at run time, {_CHOOSE_DEVICE}, and use `.to(device)` everywhere, so the same code runs with or without a GPU."
        )

    return build


def _load_cuda(m: re.Match[str], where: str) -> str:
    return (
        f"{where} loads a checkpoint saved on a GPU, and this machine has none. "
        f"Load it onto the device you have: `torch.load(path, map_location=device)`, with {_CHOOSE_DEVICE}."
    )


def _out_of_memory(m: re.Match[str], where: str) -> str:
    size = m.group("size")
    return (
        f"{where} needed {size} more GPU memory than is free. "
        f"Use a smaller batch or model, wrap evaluation in `torch.no_grad()`, and keep `.item()` rather than tensors when you store losses."
    )


def _device_assert(m: re.Match[str], where: str) -> str:
    return (
        f"{where} hit a failed check inside a GPU kernel, nearly always an index out of range: a cross_entropy target not below the number of classes, "
        f"or an embedding id not below the vocabulary size. Run the same code on the CPU for a clear message, or print `labels.min()`/`labels.max()`."
    )


# --- 8. view ------------------------------------------------------------------------------------


def _view_stride(m: re.Match[str], where: str) -> str:
    return (
        f"{where} calls `.view` on a tensor whose memory is not laid out in order, usually because it came from "
        f"`.transpose`, `.permute` or `.T`, so the new shape cannot be a plain view of it. "
        f"Use `.reshape(...)` instead (it copies when needed), or `.contiguous().view(...)`."
    )


# --- 9. indices ---------------------------------------------------------------------------------


def _index_bounds(m: re.Match[str], where: str) -> str:
    i, dim, n = m.group("i"), m.group("dim"), int(m.group("n"))
    return (
        f"{where} uses index {i} on dimension {dim}, which has size {n}, so valid indices run 0..{n - 1} (or -{n}..-1 from the end). "
        f"Check the loop bounds or index values; off by one is common (`range(n)` stops at n-1)."
    )


def _embedding_range(m: re.Match[str], where: str) -> str:
    return (
        f"{where} looks up a row that does not exist (nn.Embedding or index_select): some id is negative or not below the number of rows, "
        f"which for an embedding is num_embeddings, the vocabulary size. "
        f"Ids must run 0..num_embeddings-1: compare `ids.max()` with the embedding's size and make the vocabulary large enough (padding and unknown tokens count)."
    )


def _target_bounds(m: re.Match[str], where: str) -> str:
    t = int(m.group("t"))
    if t < 0:
        fix = "negative labels are not allowed (apart from ignore_index, -100 by default), so map them to 0..C-1 first."
    else:
        fix = f"a label of {t} needs at least {t + 1} classes: give the last layer that many outputs, or shift labels that start at 1 down by one."
    return (
        f"{where} gives cross_entropy/nll_loss the class label {t}, but labels must run 0..C-1, where C is the number of classes "
        f"(the logits' size along dimension 1). Here {fix}"
    )


def _zero_dim_index(m: re.Match[str], where: str) -> str:
    return (
        f"{where} indexes a 0-D tensor (a single number, such as a loss), which has no positions to index. "
        f"Use `.item()` to get the number, or keep the tensor's dimensions where you made it."
    )


# --- the table ----------------------------------------------------------------------------------

_N = r"(-?\d+)"

# fmt: off
RULES: list[tuple[re.Pattern[str], Builder]] = [
    (re.compile(rf"mat1 and mat2 shapes cannot be multiplied \({_N}x{_N} and {_N}x{_N}\)"), _mm_shapes),
    (re.compile(r"size mismatch, got input \(\d+\), mat \((?P<rows>\d+)x(?P<cols>\d+)\), vec \((?P<vec>\d+)\)"), _mv_shapes),
    (re.compile(rf"Expected size for first two dimensions of batch2 tensor to be: \[{_N}, {_N}\] but got: \[{_N}, {_N}\]"), _bmm_shapes),
    (re.compile(r"inconsistent tensor size, expected tensor \[(?P<a>\d+)\] and src \[(?P<b>\d+)\]"), _dot_sizes),
    (re.compile(r"both arguments to (?P<op>\w+) need to be at least 1D, but they are (?P<a>\d+)D and (?P<b>\d+)D"), _zero_dim_matmul),
    (re.compile(r"1D tensors expected, but got (\d+)D and (\d+)D tensors"), _dot_needs_vectors),
    (re.compile(r"The size of tensor a \((?P<a>\d+)\) must match the size of tensor b \((?P<b>\d+)\) at non-singleton dimension (?P<dim>\d+)"), _broadcast),
    (re.compile(r"The expanded size of the tensor \((?P<new>-?\d+)\) must match the existing size \((?P<old>\d+)\) at non-singleton dimension (?P<dim>\d+)\.\s+Target sizes: \[(?P<want>[^\]]*)\]\.\s+Tensor sizes: \[(?P<have>[^\]]*)\]"), _expand),
    (re.compile(r"output with shape \[(?P<out>[^\]]*)\] doesn't match the broadcast shape \[(?P<full>[^\]]*)\]"), _inplace_broadcast),
    (re.compile(r"Sizes of tensors must match except in dimension (?P<dim>\d+)\. Expected size (?P<want>\d+) but got size (?P<got>\d+) for tensor number (?P<n>\d+)"), _cat_sizes),
    (re.compile(r"stack expects each tensor to be equal size, but got \[(?P<s1>[^\]]*)\] at entry (?P<i1>\d+) and \[(?P<s2>[^\]]*)\] at entry (?P<i2>\d+)"), _stack_sizes),
    (re.compile(r"shape '\[(?P<shape>[^\]]*)\]' is invalid for input of size (?P<n>\d+)"), _view_count),
    (re.compile(r"only one dimension can be inferred"), _two_inferred),
    (re.compile(r"Dimension out of range \(expected to be in range of \[(?P<lo>-?\d+), (?P<hi>-?\d+)\], but got (?P<got>-?\d+)\)"), _dim_range),
    (re.compile(r"Expected (?P<a>\d)D \(unbatched\) or (?P<b>\d)D \(batched\) input to (?P<op>\w+), but got input of size: \[(?P<shape>[^\]]*)\]"), _conv_rank),
    (re.compile(r"weight of size \[(?P<weight>[^\]]*)\], expected input\[(?P<input>[^\]]*)\] to have (?P<want>\d+) channels, but got (?P<got>\d+) channels"), _conv_channels),
    (re.compile(r"Given normalized_shape=\[(?P<norm>[^\]]*)\], expected input with shape \[[^\]]*\], but got input of size\s*\[(?P<got>[^\]]*)\]"), _layer_norm),
    (re.compile(r"running_mean should contain (?P<got>\d+) elements not (?P<want>\d+)"), _batch_norm),
    (re.compile(r"Expected input batch_size \((?P<a>\d+)\) to match target batch_size \((?P<b>\d+)\)"), _batch_size),
    (re.compile(r"0D or 1D target tensor expected, multi-target not supported"), _multi_target),
    (re.compile(r"a leaf Variable that requires grad is being used in an in-place operation"), _leaf_inplace),
    (re.compile(r"modified by an inplace operation: \[[\w.]+ \[(?P<shape>[^\]]*)\]\], which is output (?P<out>\d+) of (?P<op>\w+), is at version (?P<now>\d+); expected version (?P<then>\d+)"), _modified_inplace),
    (re.compile(r"Trying to backward through the graph a second time"), _backward_twice),
    (re.compile(r"element \d+ of tensors does not require grad and does not have a grad_fn"), _no_grad_fn),
    (re.compile(r"grad can be implicitly created only for scalar outputs"), _non_scalar_backward),
    (re.compile(r"Can't call numpy\(\) on Tensor that requires grad"), _numpy_grad),
    (re.compile(r"can't optimize a non-leaf Tensor"), _non_leaf_optim),
    (re.compile(r"Only Tensors of floating point and complex dtype can require gradients"), _int_requires_grad),
    (re.compile(r"a Tensor with (?P<n>\d+) elements cannot be converted to Scalar"), _item_many),
    (re.compile(r"expected scalar type (?P<want>\w+) but found (?P<got>\w+)"), _scalar_type),
    (re.compile(r"expected m1 and m2 to have the same dtype, but got: (?P<a>[\w: ]+?) != (?P<b>[\w: ]+)"), _matmul_dtypes),
    (re.compile(r"mat1 and mat2 must have the same dtype(?:, but got (?P<a>\w+) and (?P<b>\w+))?"), _matmul_dtypes),
    (re.compile(r"dot : expected both vectors to have same dtype, but found (?P<a>\w+) and (?P<b>\w+)"), _matmul_dtypes),
    (re.compile(r"addmv input tensors must have the same dtype, but got (?P<a>\w+), (?P<b>\w+),? and (?P<c>\w+)"), _addmv_dtypes),
    (re.compile(r"result type (?P<result>\w+) can't be cast to the desired output type (?P<out>\w+)"), _cast_result),
    (re.compile(r"\"(?P<kernel>\w+)\" not implemented for '(?P<dtype>\w+)'"), _not_implemented),
    (re.compile(r"expected target dtype to be Long or Byte, but got (?P<got>\w+)"), _target_dtype),
    (re.compile(r"Expected floating point type for target with class probabilities, got (?P<got>\w+)"), _prob_target),
    (re.compile(r"Found dtype (?P<got>\w+) but expected (?P<want>\w+)"), _found_dtype),
    (re.compile(r"Input type \((?P<input>[\w.: ]+)\) and (?P<param>weight|bias) type \((?P<ptype>[\w.: ]+)\) should be the same"), _layer_types),
    (re.compile(r"Expected tensor for argument #\d+ '(?P<arg>\w+)' to have one of the following scalar types: (?P<allowed>[\w, ]+); but got (?P<got>[\w.]+) instead"), _index_dtype_arg),
    (re.compile(r"(?P<op>\w+)\(\): Expected dtype int32(?: or |/)int64 for index"), _index_dtype_op),
    (re.compile(r"tensors used as indices must be long, int, byte or bool tensors"), _float_indices),
    (re.compile(r"one_hot is only applicable to index tensor"), _one_hot),
    (re.compile(r"RNN input dtype \((?P<input>[\w.]+)\) does not match weight dtype \((?P<weight>[\w.]+)\)"), _rnn_dtype),
    (re.compile(r"(?P<op>\w+)\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. Got: (?P<got>\w+)"), _mean_of_ints),
    (re.compile(r"Expected all tensors to be on the same device, but found at least two devices, (?P<a>\S+) and (?P<b>\S+?)!(?: \(when checking argument for argument (?P<arg>\w+) in method (?P<method>\w+)\))?"), _devices_found),
    (re.compile(r"Expected all tensors to be on the same device, but got (?P<arg>\w+) is on (?P<on>[\w:]+), different from other tensors on (?P<common>[\w:]+) \(when checking argument in method (?P<method>\w+)\)"), _devices_got),
    (re.compile(r"Tensor on device (?P<on>\S+) is not on the expected device (?P<expected>\S+?)!"), _not_expected_device),
    (re.compile(r"Expected object of device type (?P<want>\w+) but got device type (?P<got>\w+)"), _device_type),
    (re.compile(r"can't convert (?P<dev>[\w:]+) device type tensor to numpy"), _numpy_device),
    (re.compile(r"Torch not compiled with CUDA enabled"), _no_cuda("this PyTorch was built without CUDA support, so it can only use the CPU")),
    (re.compile(r"No CUDA GPUs are available"), _no_cuda("no CUDA GPU is visible to this process")),
    (re.compile(r"Found no NVIDIA driver on your system"), _no_cuda("this machine has no NVIDIA driver, so there is no GPU to use")),
    (re.compile(r"CUDA driver initialization failed"), _no_cuda("the CUDA driver could not start, so there is no GPU to use")),
    (re.compile(r"Attempting to deserialize object on (?:a )?CUDA device"), _load_cuda),
    (re.compile(r"CUDA out of memory\. Tried to allocate (?P<size>[\d.]+ \w+)"), _out_of_memory),
    (re.compile(r"device-side assert triggered"), _device_assert),
    (re.compile(r"view size is not compatible with input tensor's size and stride"), _view_stride),
    (re.compile(r"index (?P<i>-?\d+) is out of bounds for (?:dimension|axis) (?P<dim>\d+) with size (?P<n>\d+)"), _index_bounds),
    (re.compile(r"index out of range in self"), _embedding_range),
    (re.compile(r"Target (?P<t>-?\d+) is out of bounds"), _target_bounds),
    (re.compile(r"invalid index of a 0-dim tensor"), _zero_dim_index),
]
# fmt: on


def explain(error_type: str, message: str, line: int | None = None, code: str = "") -> str | None:
    """One short paragraph (2-3 sentences, plain text, never Rich markup) saying in plain words what went wrong,
    naming the learner's line (quote the line's code, stripped, when `line` and `code` are given) and the shapes
    or dtypes the message names, and what to do; None for errors it does not know.

    `error_type` is the exception's class name; the message alone decides, since torch raises the
    same words under several types.
    """
    where = _where(line, code)
    for pattern, build in RULES:
        match = pattern.search(message)
        if match:
            try:
                return build(match, where)
            except (ValueError, IndexError, KeyError, TypeError):  # a message shaped oddly: say nothing rather than fail
                return None
    return None
