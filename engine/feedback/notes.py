"""Notes on how the code is written: advice shown beneath the verdict, never a reason to fail.

Each rule looks for one habit that correct code can still have (changing a
parameter through `.data`, softmax fed to cross-entropy, an optimizer rebuilt
every step...).  A false note on correct, idiomatic code teaches the wrong
thing, so every rule fires only on evidence it can see in the code: a name
certainly bound to a tensor, a loop certainly over a tensor's elements, a
device variable that is really there.  When unsure, a rule stays quiet.

Names resolve through the learner's imports with the helpers of
engine.astnames, so `import torch.nn.functional as F`, `from torch import
nn`, `from torch.optim import SGD` and `import torch as th` all count.  Messages
are plain text (code in backticks, never Rich markup); the renderer escapes them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from engine.astnames import CONVENTIONAL, dotted_name


@dataclass(frozen=True)
class Note:
    id: str  # stable kebab-case id, e.g. "data-assign"
    line: int  # 1-based line in the learner's code
    message: str  # one actionable sentence, plain text, naming what to write instead


NOTE_IDS: dict[str, str] = {
    "data-assign": "a parameter changed through .data",
    "item-in-loop": ".item() / .tolist() / .numpy() on each element in a Python loop",
    "tensor-from-tensor": "torch.tensor() on something that is already a tensor",
    "legacy-constructor": "the legacy torch.Tensor() / torch.FloatTensor() constructors",
    "numpy-round-trip": "a NumPy round trip in the middle of torch code",
    "hardcoded-cuda": "a hard-coded cuda device next to a device variable",
    "eval-mode": "evaluation without model.eval()",
    "no-grad": "evaluation without torch.no_grad()",
    "zero-grad-order": "gradients cleared between backward() and step()",
    "softmax-cross-entropy": "softmax output fed to cross_entropy or nll_loss",
    "optimizer-in-loop": "an optimizer built inside the training loop",
}

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_FOR = (ast.For, ast.AsyncFor)
_STMT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

# torch functions that always return one tensor (max, sort, unique... can return tuples: left out).
_TORCH_MAKERS = {
    f"torch.{n}"
    for n in (
        "tensor as_tensor from_numpy zeros ones empty full rand randn randint randperm arange linspace logspace eye "
        "zeros_like ones_like empty_like full_like rand_like randn_like randint_like stack cat concat hstack vstack "
        "matmul mm bmm einsum outer exp log sqrt abs sin cos tanh sigmoid relu softmax log_softmax clamp clip normal "
        "bernoulli multinomial cumsum cumprod tril triu diag flatten reshape transpose permute squeeze unsqueeze sum "
        "mean std var prod norm cdist tensordot kron where"
    ).split()
} | {f"torch.nn.functional.{n}" for n in "relu softmax log_softmax one_hot pad normalize linear sigmoid".split()}
# Methods only tensors have (NumPy arrays and Python values do not): their result is a tensor.
# `.to`/`.float()`/`.cuda()` also exist on modules, but nobody iterates or re-wraps a module.
_TENSOR_METHODS = set(
    "clone detach float double half bfloat16 long int short bool byte cpu cuda to contiguous unsqueeze permute "
    "expand expand_as view_as reshape_as type_as softmax log_softmax sigmoid relu tanh exp log sqrt "
    "matmul masked_fill requires_grad_ new_zeros new_ones new_full new_empty new_tensor t".split()
)
# Methods NumPy (or pandas) shares: a tensor only when called on a tensor.
_SHARED_METHODS = set(
    "reshape view flatten transpose squeeze sum mean std var prod argmax argmin cumsum round clamp clip repeat flip roll".split()
)
_LEGACY = {"torch.Tensor"} | {
    f"{where}.{kind}Tensor"
    for where in ("torch", "torch.cuda")
    for kind in ("Float", "Double", "Half", "BFloat16", "Byte", "Char", "Short", "Int", "Long", "Bool")
}
_ANNOTATED_TENSOR = ast.Constant(value="<a parameter annotated as a tensor>")


class _Code:
    """The learner's module and what every rule asks of it: resolved names, scopes, names that hold tensors."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.all: list[ast.AST] = []  # every node in source order, walked once: the rules share it
        self.parent: dict[int, ast.AST] = {}
        self.scopes: list[ast.AST] = [tree]
        self._nodes: dict[int, list[ast.AST]] = {id(tree): []}
        self._scope_of: dict[int, ast.AST] = {}
        self._walk(tree)
        self.calls = [n for n in self.all if isinstance(n, ast.Call)]
        self.aliases = _aliases(self.all)
        self.own_attrs, self.own_methods = _own_members(self.all)
        self._bindings = {id(s): _bindings(self, s) for s in self.scopes}
        self._tensors: dict[int, set[str]] = {}

    def _walk(self, tree: ast.Module) -> None:
        """One pass: parents, and which scope (module or function) each node belongs to.
        A class body belongs to none: its methods are scopes of their own."""
        stack: list[tuple[ast.AST, ast.AST | None]] = [(c, tree) for c in reversed(list(ast.iter_child_nodes(tree)))]
        while stack:
            node, scope = stack.pop()
            self.all.append(node)
            if scope is not None:
                self._nodes[id(scope)].append(node)
                self._scope_of[id(node)] = scope
            inner = scope
            if isinstance(node, _DEFS):
                self.scopes.append(node)
                self._nodes[id(node)] = []
                inner = node
            elif isinstance(node, ast.ClassDef):
                inner = None
            children = list(ast.iter_child_nodes(node))
            for child in children:
                self.parent[id(child)] = node
            stack.extend((c, inner) for c in reversed(children))

    def resolve(self, node: ast.AST) -> str | None:
        """`F.softmax` -> `torch.nn.functional.softmax`; a local name stays itself; None for non-names."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head, head)
        return f"{base}.{rest}" if rest else base

    def nodes(self, scope: ast.AST) -> list[ast.AST]:
        return self._nodes[id(scope)]

    def scope_of(self, node: ast.AST) -> ast.AST:
        return self._scope_of.get(id(node), self.tree)

    def bindings(self, scope: ast.AST) -> dict[str, list[ast.expr | None]]:
        return self._bindings[id(scope)]

    def enclosing(self, node: ast.AST) -> Iterator[ast.AST]:
        """The node's ancestors, innermost first, up to its function (or the module)."""
        node = self.parent.get(id(node))
        while node is not None and not isinstance(node, (*_DEFS, ast.ClassDef, ast.Lambda)):
            yield node
            node = self.parent.get(id(node))

    def method_name(self, call: ast.AST) -> str | None:
        """`x.item()` -> "item", unless the learner's own classes define a method of that name."""
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr not in self.own_methods:
            return call.func.attr
        return None

    def is_tensor(self, node: ast.AST | None, scope: ast.AST) -> bool:
        """Certainly a tensor, from what the code shows; False when it cannot tell."""
        return self._certain(node, scope, self.tensor_names(scope))

    def tensor_names(self, scope: ast.AST) -> set[str]:
        """Names whose every binding in the scope is certainly a tensor.

        A greatest fixed point: start from every bound name and drop those with a
        binding that is not certainly a tensor, so `x = torch.zeros(3); x += 1` keeps x.
        """
        if id(scope) not in self._tensors:
            binds = self.bindings(scope)
            names = set(binds)
            self._tensors[id(scope)] = names
            changed = True
            while changed:
                changed = False
                for name in list(names):
                    if not all(self._certain(v, scope, names) for v in binds[name]):
                        names.discard(name)
                        changed = True
        return self._tensors[id(scope)]

    def _certain(self, node: ast.AST | None, scope: ast.AST, names: set[str]) -> bool:
        if node is None:
            return False
        if node is _ANNOTATED_TENSOR:
            return True
        sure = lambda n: self._certain(n, scope, names)  # noqa: E731 - recursion on the same scope
        if isinstance(node, ast.Name):
            if node.id in self.bindings(scope):
                return node.id in names
            return scope is not self.tree and node.id in self.tensor_names(self.tree)
        if isinstance(node, ast.Call):
            return self._certain_call(node, sure)
        if isinstance(node, ast.Attribute):
            if node.attr == "grad":
                return "grad" not in self.own_attrs  # the learner's own engines keep a `.grad` of their own
            return node.attr in ("T", "mT", "H", "mH") and sure(node.value)
        if isinstance(node, ast.Subscript):
            return sure(node.value)
        if isinstance(node, ast.BinOp):
            return sure(node.left) or sure(node.right)
        if isinstance(node, ast.UnaryOp):
            return not isinstance(node.op, ast.Not) and sure(node.operand)
        if isinstance(node, ast.IfExp):
            return sure(node.body) and sure(node.orelse)
        return False

    def _certain_call(self, node: ast.Call, sure: Callable[[ast.AST], bool]) -> bool:
        name = self.resolve(node.func)
        if name in _TORCH_MAKERS or name in _LEGACY:
            return not (name == "torch.where" and len(node.args) != 3)  # one-argument where gives a tuple
        method = self.method_name(node)
        if method in _TENSOR_METHODS:
            return True
        return method in _SHARED_METHODS and sure(node.func.value)  # type: ignore[attr-defined]


def _aliases(nodes: list[ast.AST]) -> dict[str, str]:
    """Local name -> dotted module path, as engine.checks.static reads imports; the learner's own defs win."""
    aliases = dict(CONVENTIONAL)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")[0]
                aliases[alias.asname or head] = alias.name if alias.asname else head
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in nodes:
        if isinstance(node, (*_DEFS, ast.ClassDef)):
            aliases.pop(node.name, None)
    return aliases


def _own_members(nodes: list[ast.AST]) -> tuple[set[str], set[str]]:
    """Attributes (`self.data = ...`) and methods the learner's classes define: a from-scratch
    autograd engine has its own `.data`, `.grad` and `.relu()`, which are not PyTorch's."""
    attrs: set[str] = set()
    methods: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ClassDef):
            methods.update(n.name for n in node.body if isinstance(n, _DEFS))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                attrs.add(node.attr)
    return attrs, methods


def _scope_nodes(scope: ast.AST) -> list[ast.AST]:
    """Every node of one scope; nested functions and classes are scopes of their own."""
    out: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, (*_DEFS, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return out


def _bindings(code: _Code, scope: ast.AST) -> dict[str, list[ast.expr | None]]:
    """Name -> the expressions it is bound to in the scope (None where the value is unknown).

    A loop target over `it` is bound to `it[0]`: an element of a tensor is a tensor.
    """
    binds: dict[str, list[ast.expr | None]] = {}
    add = lambda name, value: binds.setdefault(name, []).append(value)  # noqa: E731
    if isinstance(scope, _DEFS):
        a = scope.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]:
            add(arg.arg, _ANNOTATED_TENSOR if arg.annotation and code.resolve(arg.annotation) == "torch.Tensor" else None)
    for node in code.nodes(scope):
        for target, value in _bound(node):
            if isinstance(target, ast.Name):
                add(target.id, value)
            else:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                        add(name.id, None)  # unpacked: which part is which is not worth guessing
        if isinstance(node, (*_DEFS, ast.ClassDef)):
            add(node.name, None)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                add((alias.asname or alias.name).split(".")[0], None)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                add(name, None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            add(node.name, None)
    return binds


def _bound(node: ast.AST) -> Iterator[tuple[ast.expr, ast.expr | None]]:
    """(target, value) pairs one statement or expression binds."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield target, node.value
    elif isinstance(node, ast.AnnAssign):
        yield node.target, node.value
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        yield node.target, ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
    elif isinstance(node, ast.NamedExpr):
        yield node.target, node.value
    elif isinstance(node, (*_FOR, ast.comprehension)):
        yield node.target, ast.Subscript(node.iter, ast.Constant(0), ast.Load())
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        yield node.optional_vars, None


def _short(node: ast.AST, fallback: str, limit: int = 30) -> str:
    """The code of a short expression, to quote in a message; `fallback` for a long one."""
    text = ast.unparse(node)
    return text if len(text) <= limit else fallback


def _walk_calls(nodes: Iterable[ast.AST]) -> Iterator[ast.Call]:
    for node in nodes:
        if isinstance(node, ast.Call):
            yield node


# 1. `.data` to change a parameter ----------------------------------------------------------------------------


def _data_assign(code: _Code) -> Iterator[Note]:
    if "data" in code.own_attrs:
        return  # the learner's own Value/Tensor class: its `.data` is theirs to change
    for node in code.all:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                    yield from _data_note(_changed_through_data(part), node.lineno)
        elif (name := code.method_name(node)) and name.endswith("_") and not name.endswith("__"):
            yield from _data_note(_changed_through_data(node.func.value), node.lineno)  # type: ignore[attr-defined]


def _changed_through_data(node: ast.AST) -> ast.expr | None:
    """`p.data`, `p.data[i]` -> p (what is being changed behind autograd's back); None otherwise."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute) and node.attr == "data":
        # A torchvision dataset keeps its samples in `.data`; subsetting it is not a parameter update.
        if "set" not in ast.unparse(node.value).lower() and dotted_name(node.value) != "ds":
            return node.value
    return None


def _data_note(base: ast.expr | None, line: int) -> Iterator[Note]:
    if base is not None:
        p = _short(base, "p")
        yield Note(
            "data-assign",
            line,
            f"`{p}` is changed through `.data`, which autograd cannot see; change it in place under "
            f"`with torch.no_grad():` instead (e.g. `{p} -= lr * {p}.grad` or `{p}.copy_(new_value)`).",
        )


# 2. `.item()` / `.tolist()` / `.numpy()` on each element in a Python loop --------------------------------------


@dataclass
class _Walk:
    """What one loop walks over: names bound to elements, index names, and the tensors they index."""

    elements: set[str]
    indices: set[str]
    tensors: set[str]  # source text of the tensors walked

    def owns(self, code: _Code, scope: ast.AST, recv: ast.AST) -> str | None:
        """The tensor whose element `recv` is (its source text), or None."""
        if isinstance(recv, ast.Name) and recv.id in self.elements:
            return recv.id
        if not isinstance(recv, ast.Subscript):
            return None
        if isinstance(recv.value, ast.Name) and recv.value.id in self.elements:
            return recv.value.id
        index_names = {n.id for n in ast.walk(recv.slice) if isinstance(n, ast.Name)}
        base = ast.unparse(recv.value)
        if index_names & self.indices and (base in self.tensors or code.is_tensor(recv.value, scope)):
            return base
        return None


def _item_in_loop(code: _Code) -> Iterator[Note]:
    for scope in code.scopes:
        for loop in code.nodes(scope):
            for walk, body in _loop_walks(code, scope, loop):
                written = {ast.unparse(t.value) for n in body for t in _stored(n) if isinstance(t, ast.Subscript)}
                for call in _walk_calls(body):
                    name = code.method_name(call)
                    if name not in ("item", "tolist", "numpy"):
                        continue
                    recv = call.func.value  # type: ignore[attr-defined]
                    src = walk.owns(code, scope, recv)
                    # Writing the same elements back (finite differences, perturbing one entry at a
                    # time) is work only a loop can do.
                    if src and ast.unparse(recv.value if isinstance(recv, ast.Subscript) else recv) not in written:
                        yield Note(
                            "item-in-loop",
                            call.lineno,
                            f"`.{name}()` here runs once per element of `{src if len(src) <= 30 else 'the tensor'}`, "
                            "which is slow Python work; replace the loop with one whole-tensor operation "
                            "(a sum, a comparison, a mask) and convert once at the end.",
                        )


def _stored(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _loop_walks(code: _Code, scope: ast.AST, loop: ast.AST) -> Iterator[tuple[_Walk, list[ast.AST]]]:
    """For a loop over a tensor's elements or indices: what it walks and the nodes of its body."""
    body_of = lambda stmts: [n for s in stmts for n in [s, *_scope_nodes(s)]]  # noqa: E731
    if isinstance(loop, _FOR):
        walk = _walk_of(code, scope, loop.target, loop.iter)
        if walk:
            yield walk, body_of(loop.body)
    elif isinstance(loop, _COMPREHENSIONS):
        for gen in loop.generators:
            walk = _walk_of(code, scope, gen.target, gen.iter)
            if walk:
                iterated = {id(n) for n in ast.walk(gen.iter)}
                yield walk, [n for n in _scope_nodes(loop) if id(n) not in iterated]
    elif isinstance(loop, ast.While):
        test = loop.test
        if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and isinstance(test.ops[0], (ast.Lt, ast.LtE)):
            tensor = _size_of(code, scope, test.comparators[0])
            if tensor is not None:
                yield _Walk(set(), {test.left.id}, {ast.unparse(tensor)}), body_of(loop.body)


def _walk_of(code: _Code, scope: ast.AST, target: ast.expr, it: ast.expr) -> _Walk | None:
    call = it.func.id if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) else None
    if call == "range" and it.args:  # type: ignore[union-attr]
        stop = it.args[0] if len(it.args) == 1 else it.args[1]  # type: ignore[union-attr]
        tensor = _size_of(code, scope, stop)
        if tensor is not None and isinstance(target, ast.Name):
            return _Walk(set(), {target.id}, {ast.unparse(tensor)})
        return None
    if call == "enumerate" and len(it.args) == 1 and isinstance(target, ast.Tuple) and len(target.elts) == 2:  # type: ignore[union-attr]
        inner = _walk_of(code, scope, target.elts[1], it.args[0])  # type: ignore[union-attr]
        if inner and isinstance(target.elts[0], ast.Name):
            inner.indices.add(target.elts[0].id)
        return inner
    if call == "zip" and isinstance(target, ast.Tuple) and len(target.elts) == len(it.args):  # type: ignore[union-attr]
        walks = [w for t, a in zip(target.elts, it.args, strict=True) if (w := _walk_of(code, scope, t, a))]  # type: ignore[union-attr]
        return _merge(walks)
    if code.is_tensor(it, scope):
        names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        return _Walk(names, set(), {ast.unparse(it)})
    return None


def _merge(walks: list[_Walk]) -> _Walk | None:
    if not walks:
        return None
    return _Walk(set().union(*(w.elements for w in walks)), set().union(*(w.indices for w in walks)),
                 set().union(*(w.tensors for w in walks)))  # fmt: skip


def _size_of(code: _Code, scope: ast.AST, node: ast.AST) -> ast.expr | None:
    """`len(t)` (t a tensor), `t.shape[k]`, `t.size(k)`, `t.numel()` -> t: a count of a tensor's entries."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1:
        return node.args[0] if code.is_tensor(node.args[0], scope) else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
        return node.value.value
    if code.method_name(node) in ("numel", "nelement") or (code.method_name(node) == "size" and node.args):  # type: ignore[attr-defined]
        return node.func.value  # type: ignore[attr-defined]
    return None


# 3. torch.tensor(t) on a tensor; 4. the legacy constructors ----------------------------------------------------


def _copy_message(arg: ast.AST) -> str:
    t = _short(arg, "t")
    return (
        f"`torch.tensor({t})` copies something that is already a tensor (PyTorch warns about it); "
        f"write `{t}.detach().clone()` instead, or `torch.as_tensor({t})` when no copy is needed."
    )


def _tensor_from_tensor(code: _Code) -> Iterator[Note]:
    for call in code.calls:
        if code.resolve(call.func) == "torch.tensor" and call.args and code.is_tensor(call.args[0], code.scope_of(call)):
            yield Note("tensor-from-tensor", call.lineno, _copy_message(call.args[0]))


def _legacy_constructor(code: _Code) -> Iterator[Note]:
    # Only calls: `isinstance(x, torch.Tensor)`, annotations and `class T(torch.Tensor)` do not build anything.
    for call in code.calls:
        if code.resolve(call.func) in _LEGACY:
            yield Note(
                "legacy-constructor",
                call.lineno,
                f"`{ast.unparse(call.func)}(...)` is the legacy constructor (numbers become a shape and memory is left "
                "uninitialised); build data with `torch.tensor(data)` and blank tensors with `torch.zeros(shape)` or "
                "`torch.empty(shape)`.",
            )


# 5. NumPy round trip --------------------------------------------------------------------------------------------


def _numpy_round_trip(code: _Code) -> Iterator[Note]:
    for scope in code.scopes:
        left = [n for n in code.nodes(scope) if _leaves_torch(code, scope, n)]
        if not left:
            continue
        tainted = _tainted(code, scope, {id(n) for n in left})
        for call in _walk_calls(code.nodes(scope)):
            back = code.resolve(call.func)
            if back in ("torch.tensor", "torch.from_numpy", "torch.as_tensor") and call.args:
                if _mentions(call.args[0], tainted):
                    yield Note(
                        "numpy-round-trip",
                        call.lineno,
                        f"`{ast.unparse(call.func)}` here takes back values that left torch through NumPy, which drops "
                        "the autograd graph and moves them to the CPU; do that step with torch operations instead.",
                    )


def _leaves_torch(code: _Code, scope: ast.AST, node: ast.AST) -> bool:
    """`t.numpy()`, or `np.asarray(t)` / `np.array(t)` on a certain tensor (on a list they just build data)."""
    if code.method_name(node) == "numpy":
        return True
    return (
        isinstance(node, ast.Call)
        and code.resolve(node.func) in ("numpy.asarray", "numpy.array")
        and bool(node.args)
        and code.is_tensor(node.args[0], scope)
    )


def _tainted(code: _Code, scope: ast.AST, left: set[int]) -> set[int | str]:
    """The nodes that left torch, and every local name whose value comes from them (a least fixed point)."""
    tainted: set[int | str] = set(left)
    binds = code.bindings(scope)
    changed = True
    while changed:
        changed = False
        for name, values in binds.items():
            if name in tainted:
                continue
            for value in filter(None, values):
                if _mentions(value, tainted):
                    tainted.add(name)
                    changed = True
                    break
    return tainted


def _mentions(node: ast.AST, tainted: set[int | str]) -> bool:
    """Whether values that left torch flow into `node`; a length or a shape is not the values themselves."""
    if id(node) in tainted or (isinstance(node, ast.Name) and node.id in tainted):
        return True
    if isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim", "size", "dtype"):
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False
    return any(_mentions(child, tainted) for child in ast.iter_child_nodes(node))


# 6. Hard-coded cuda next to a device variable ---------------------------------------------------------------------


def _hardcoded_cuda(code: _Code) -> Iterator[Note]:
    device = _device_variable(code)
    if device is None:
        return
    for call in code.calls:
        method = code.method_name(call)
        hard = method == "cuda" and not (code.resolve(call.func) or "").startswith("torch.cuda")
        hard = hard or (method == "to" and any(_is_cuda(a) for a in call.args))
        hard = hard or any(k.arg == "device" and _is_cuda(k.value) for k in call.keywords)
        if hard:
            yield Note(
                "hardcoded-cuda",
                call.lineno,
                f"this line hard-codes the GPU although the code already has `{device}`; write `.to({device})` "
                f"(or `device={device}`) so it also runs where there is no GPU.",
            )
        elif _autocast_on_cuda(code, call):
            yield Note(
                "hardcoded-cuda",
                call.lineno,
                f"this autocast hard-codes the GPU although the code already has `{device}`; pass "
                f"`device_type=torch.device({device}).type` so it also works where there is no GPU.",
            )


def _autocast_on_cuda(code: _Code, call: ast.Call) -> bool:
    """`torch.autocast("cuda")` / `torch.autocast(device_type="cuda")`: on a CPU it switches itself off."""
    if code.resolve(call.func) not in ("torch.autocast", "torch.amp.autocast"):
        return False
    given = call.args[:1] + [k.value for k in call.keywords if k.arg == "device_type"]
    return any(_is_cuda(v) for v in given)


def _is_cuda(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("cuda")


def _device_variable(code: _Code) -> str | None:
    """The name the code keeps its device in: assigned from `torch.device(...)` or from a test of
    `cuda.is_available()`, returned by a helper that does so, or a parameter named `device`."""

    def chooses_device(value: ast.AST | None) -> bool:
        if value is None:
            return False
        calls = [code.resolve(c.func) or "" for c in _walk_calls(ast.walk(value))]
        return any(c == "torch.device" or c.endswith("cuda.is_available") for c in calls)

    assigned, helpers, params = [], [], []
    for node in code.all:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and chooses_device(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assigned += [ast.unparse(t) for t in targets if isinstance(t, (ast.Name, ast.Attribute))]
        elif isinstance(node, _DEFS):
            if any(a.arg == "device" for a in [*node.args.args, *node.args.kwonlyargs]):
                params.append("device")
            if any(isinstance(r, ast.Return) and chooses_device(r.value) for r in code.nodes(node)):
                helpers.append(f"{node.name}()")
    return next(iter(assigned + params + helpers), None)


# 7. Evaluation without eval() / without no_grad() ------------------------------------------------------------------

_LOSS_WORDS = re.compile(r"loss|criterion|accuracy")
_NOT_A_MODEL = re.compile(r"loss|crit|metric|score|acc|fn$|func")


def _is_eval_name(name: str) -> bool:
    """Word by word, so `evaluate`, `val_loss`, `run_test`, `predictBatch` and `robust_accuracy` match
    but `interval` and `latest` do not."""
    words = [w.lower() for w in re.split(r"_|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    return any(w == "val" or w.startswith(("eval", "valid", "test", "predict", "accura")) for w in words)


def _eval_functions(code: _Code) -> Iterator[Note]:
    functions = {f.name: f for f in code.scopes if isinstance(f, _DEFS)}
    for fn in functions.values():
        if not (_is_eval_name(fn.name) and _measures_model(code, fn)):
            continue
        if any(code.method_name(c) == "backward" for c in _walk_calls(code.nodes(fn))):
            continue  # it also trains: which part evaluates cannot be told apart
        related = [fn, *_callees(code, fn, functions), *_callers(code, fn, functions)]
        model = _model_name(code, fn)
        if not any(_sets_eval(code, f) for f in related):
            yield Note(
                "eval-mode",
                fn.lineno,
                f"`{fn.name}` measures the model without `{model}.eval()`, so dropout and batch norm still act as in "
                f"training; call `{model}.eval()` at its start (and `{model}.train()` before training again).",
            )
        if not any(_stops_grad(code, f) for f in related):
            yield Note(
                "no-grad",
                fn.lineno,
                f"`{fn.name}` runs the model with gradients on, recording a graph nobody uses; wrap its forward passes "
                "in `with torch.no_grad():` (or decorate it with `@torch.no_grad()`).",
            )


def _model_calls(code: _Code, fn: ast.AST) -> list[ast.Call]:
    """Calls of the model: a parameter that is not a loss or metric, `model`, or `self.model`.

    Not `self(...)`: a module's own `predict` leaves the mode to its caller, who may well be the checker.
    """
    a = fn.args  # type: ignore[attr-defined]
    params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs] if not _NOT_A_MODEL.search(x.arg.lower())} - {"self"}
    names = params | {"model", "self.model"}
    return [c for c in _walk_calls(code.nodes(fn)) if dotted_name(c.func) in names]


def _model_name(code: _Code, fn: ast.AST) -> str:
    calls = _model_calls(code, fn)
    return ast.unparse(calls[0].func) if calls else "model"


def _measures_model(code: _Code, fn: ast.AST) -> bool:
    """It calls the model and computes a loss or an accuracy (or, named `predict...`, returns what the model says)."""
    if not _model_calls(code, fn):
        return False
    if any(w.lower().startswith("predict") for w in fn.name.split("_")):  # type: ignore[attr-defined]
        return True
    nodes = code.nodes(fn)
    # `pred = out.argmax(1)` then `pred == y` is an accuracy as much as `out.argmax(1) == y`.
    values = code.bindings(fn).items()
    predicted = {name for name, vs in values if any(v is not None and any(_argmax(code, n) for n in ast.walk(v)) for v in vs)}
    for node in nodes:
        if isinstance(node, ast.Call) and _LOSS_WORDS.search(_callee_word(node.func)):
            return True
        if isinstance(node, ast.Call) and (code.resolve(node.func) or "").startswith("torch.nn.functional."):
            if (code.resolve(node.func) or "").endswith(("_loss", "cross_entropy", "kl_div")):
                return True
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq) for op in node.ops):
            if any(_argmax(code, n) or (isinstance(n, ast.Name) and n.id in predicted) for n in ast.walk(node)):
                return True
        for target in _stored(node):
            if isinstance(target, ast.Name) and target.id.lower().startswith(("acc", "correct", "n_correct")):
                return True
    return False


def _argmax(code: _Code, node: ast.AST) -> bool:
    return code.method_name(node) == "argmax" or (isinstance(node, ast.Call) and code.resolve(node.func) == "torch.argmax")


def _callee_word(func: ast.AST) -> str:
    """The word a call is named by: `criterion(...)` -> criterion, `self.loss_fn(...)` -> loss_fn, not `losses.append`."""
    if isinstance(func, ast.Attribute):
        return func.attr.lower()
    if isinstance(func, ast.Name):
        return func.id.lower()
    return ast.unparse(func).lower()  # `self.loss_fns[name](...)`, `nn.MSELoss()(...)`


def _sets_eval(code: _Code, fn: ast.AST) -> bool:
    for call in _walk_calls(code.nodes(fn)):
        name = code.method_name(call)
        if name == "eval" and not call.args:
            return True
        if name == "train" and any(
            isinstance(a, ast.Constant) and a.value is False for a in [*call.args, *(k.value for k in call.keywords)]
        ):
            return True
    return False


def _stops_grad(code: _Code, fn: ast.AST) -> bool:
    """`with torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(False)`, as a block, a call or a decorator."""
    for node in [*fn.decorator_list, *code.nodes(fn)]:  # type: ignore[attr-defined]
        target = node.func if isinstance(node, ast.Call) else node
        name = code.resolve(target) or ""
        if name.startswith("torch") and name.endswith((".no_grad", ".inference_mode")):
            return True
        if name.startswith("torch") and name.endswith(".set_grad_enabled") and isinstance(node, ast.Call):
            if any(isinstance(a, ast.Constant) and a.value is False for a in node.args):
                return True
    return False


def _called_name(call: ast.Call) -> str | None:
    """`helper(...)`, `self.helper(...)`, `model.helper(...)` -> "helper", matched against the functions the code defines."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _callees(code: _Code, fn: ast.AST, functions: dict[str, ast.AST]) -> list[ast.AST]:
    names = {_called_name(c) for c in _walk_calls(code.nodes(fn))}
    return [functions[n] for n in names if n in functions and functions[n] is not fn]


def _callers(code: _Code, fn: ast.AST, functions: dict[str, ast.AST]) -> list[ast.AST]:
    """Functions that call this one: `model.eval()` before `evaluate(model)` is just as right."""
    name = fn.name  # type: ignore[attr-defined]
    return [f for f in functions.values() if f is not fn and any(_called_name(c) == name for c in _walk_calls(code.nodes(f)))]


# 8. zero_grad between backward and step --------------------------------------------------------------------------


def _zero_grad_order(code: _Code) -> Iterator[Note]:
    for loop in code.all:
        if not isinstance(loop, _STMT_LOOPS):
            continue
        events = sorted(
            (e for n in [s for stmt in loop.body for s in [stmt, *_scope_nodes(stmt)]] if (e := _grad_event(code, n))),
            key=lambda e: (e[1].lineno, e[1].col_offset),
        )
        kinds = [kind for kind, _ in events]
        for i, (kind, node) in enumerate(events):
            # backward -> clear -> step wipes the gradients the step needed; backward -> step -> clear is the rule.
            if kind == "clear" and "backward" in kinds[:i] and "step" in kinds[i + 1 :]:
                last_backward = max(j for j in range(i) if kinds[j] == "backward")
                if "step" not in kinds[last_backward:i]:
                    yield Note(
                        "zero-grad-order",
                        node.lineno,
                        "the gradients are cleared here after `backward()` and before the step, so the step sees zeros; "
                        "clear them before `backward()` or after `step()`.",
                    )


def _grad_event(code: _Code, node: ast.AST) -> tuple[str, ast.AST] | None:
    name = code.method_name(node)
    if name == "backward":
        return "backward", node
    if name == "zero_grad" or (name == "zero_" and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "grad"):  # type: ignore[attr-defined]
        return "clear", node
    if name == "step":
        return "step", node
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in node.targets):
        if isinstance(node.value, ast.Constant) and node.value.value is None:
            return "clear", node
    if isinstance(node, (ast.AugAssign, ast.Assign)) and any(
        isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node.value)
    ):
        return "step", node  # a hand-written update `w -= lr * w.grad`
    return None


# 9. Softmax fed to cross_entropy / nll_loss ------------------------------------------------------------------------

_CE = ("torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss")
_CE_FUNCTIONS = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss")


def _softmax_cross_entropy(code: _Code) -> Iterator[Note]:
    losses = _instances(code, _CE)
    softmaxes = _instances(code, ("torch.nn.Softmax",))
    for call in code.calls:
        loss = _loss_name(code, call, losses)
        first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "input"), None)
        if loss and first is not None and _is_softmax(code, first, softmaxes, code.scope_of(call)):
            nll = "nll" in loss.lower()
            advice = (
                "expects log-probabilities; pass `log_softmax(...)` output, or use `cross_entropy` on the raw logits"
                if nll
                else "applies log-softmax itself, so softmax output gets squashed twice; pass the raw logits instead"
            )
            yield Note("softmax-cross-entropy", call.lineno, f"`{loss}` {advice}.")


def _instances(code: _Code, classes: tuple[str, ...]) -> dict[str, str]:
    """Names and `self.x` attributes assigned an instance of one of `classes` -> the class name."""
    out = {}
    for node in code.all:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            cls = code.resolve(node.value.func)
            if cls in classes:
                for target in node.targets:
                    if (name := dotted_name(target)) is not None:
                        out[name] = cls.rsplit(".", 1)[1]
    return out


def _loss_name(code: _Code, call: ast.Call, losses: dict[str, str]) -> str | None:
    name = code.resolve(call.func)
    if name in _CE_FUNCTIONS:
        return name.rsplit(".", 1)[1]  # type: ignore[union-attr]
    if isinstance(call.func, ast.Call) and code.resolve(call.func.func) in _CE:
        return code.resolve(call.func.func).rsplit(".", 1)[1]  # type: ignore[union-attr]
    return losses.get(dotted_name(call.func) or "")


def _is_softmax(code: _Code, node: ast.AST, softmaxes: dict[str, str], scope: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        values = code.bindings(scope).get(node.id) or []
        return bool(values) and all(v is not None and _is_softmax_call(code, v, softmaxes) for v in values)
    return _is_softmax_call(code, node, softmaxes)


def _is_softmax_call(code: _Code, node: ast.AST, softmaxes: dict[str, str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = code.resolve(node.func) or ""
    if code.method_name(node) == "softmax" or (name.startswith("torch") and name.endswith(".softmax")):
        return True
    if isinstance(node.func, ast.Call) and code.resolve(node.func.func) == "torch.nn.Softmax":
        return True
    return dotted_name(node.func) in softmaxes


# 10. The optimizer built inside the training loop ------------------------------------------------------------------

_OPTIMIZER = re.compile(r"^torch\.optim\.[A-Z]\w*$")


def _optimizer_in_loop(code: _Code) -> Iterator[Note]:
    for call in code.calls:
        if not _OPTIMIZER.match(code.resolve(call.func) or ""):
            continue
        loops = [n for n in code.enclosing(call) if isinstance(n, _STMT_LOOPS)]
        if not loops:
            continue
        loop = loops[0]
        trains_here = any(code.method_name(n) in ("backward", "step") for n in _loop_body(loop, nested=False))
        trains_below = any(code.method_name(n) in ("backward", "step") for n in _loop_body(loop, nested=True))
        if (trains_here or (len(loops) > 1 and trains_below)) and not _fresh_parameters(code, call, loop):
            yield Note(
                "optimizer-in-loop",
                call.lineno,
                "the optimizer is built inside the training loop, so its state (momentum, Adam's averages) starts over "
                "each time; build it once before the loop.",
            )


def _loop_body(loop: ast.AST, nested: bool) -> list[ast.AST]:
    """The nodes of a loop's body; without `nested`, inner loops (and functions) are left out."""
    out: list[ast.AST] = []
    stack = list(loop.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (*_DEFS, ast.ClassDef, ast.Lambda)) or (not nested and isinstance(node, _STMT_LOOPS)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _fresh_parameters(code: _Code, call: ast.Call, loop: ast.AST) -> bool:
    """The loop also builds (or resets) what the optimizer trains: a fresh model per configuration, not a reset."""
    if not call.args:
        return False
    roots = {n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)}
    for node in [loop, *_loop_body(loop, nested=True)]:  # `for model in models:` binds it too
        for target, _ in _bound(node):
            if any(isinstance(n, ast.Name) and n.id in roots for n in ast.walk(target)):
                return True
        if code.method_name(node) in ("load_state_dict", "reset_parameters", "apply"):
            if isinstance(node.func.value, ast.Name) and node.func.value.id in roots:  # type: ignore[attr-defined]
                return True
    return False


# The entry points -------------------------------------------------------------------------------------------------

_RULES = (
    _data_assign,
    _item_in_loop,
    _tensor_from_tensor,
    _legacy_constructor,
    _numpy_round_trip,
    _hardcoded_cuda,
    _eval_functions,
    _zero_grad_order,
    _softmax_cross_entropy,
    _optimizer_in_loop,
)


def code_notes(tree: ast.Module, off: Collection[str] = ()) -> list[Note]:
    """Notes on how the code is written, sorted by line, at most one per (id, line); ids in `off` are left out."""
    code = _Code(tree)
    seen: dict[tuple[str, int], Note] = {}
    for rule in _RULES:
        for note in rule(code):
            if note.id not in off:
                seen.setdefault((note.id, note.line), note)
    return sorted(seen.values(), key=lambda n: (n.line, n.id))


# `FILE:LINE: UserWarning: To copy construct from a tensor, ...` as warnings.showwarning prints it.
_COPY_WARNING = re.compile(r"^(?P<file>.+?):(?P<line>\d+): UserWarning: To copy construct from a tensor", re.MULTILINE)


def stderr_notes(stderr: str, filename: str) -> list[Note]:
    """Notes from what the run printed to stderr: PyTorch's UserWarning for torch.tensor(t) on a tensor
    ("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach()"),
    reported with the learner's line (warnings print `FILENAME:LINE: UserWarning: ...`)."""
    lines = sorted({int(m["line"]) for m in _COPY_WARNING.finditer(stderr) if m["file"] == filename})
    return [Note("tensor-from-tensor", line, _copy_message(ast.Name("t"))) for line in lines]
