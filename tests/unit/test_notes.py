"""Notes on how code is written: each habit is found where it is, and never on the lessons' own correct code.

In the snippets, `# <-` marks the line a note must name.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import textwrap
import warnings

import pytest

from engine.feedback.notes import NOTE_IDS, code_notes, stderr_notes
from engine.lessons.format import decoy_code
from engine.lessons.loader import load_catalog
from engine.lessons.variants import instantiate


def notes(src: str, off: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    return [(n.id, n.line) for n in code_notes(ast.parse(textwrap.dedent(src)), off)]


def marked(src: str) -> list[int]:
    return [i for i, line in enumerate(textwrap.dedent(src).splitlines(), 1) if "# <-" in line]


def assert_fires(note_id: str, src: str) -> None:
    found = notes(src)
    assert sorted(line for i, line in found if i == note_id) == marked(src), found


def assert_quiet(src: str) -> None:
    assert notes(src) == []


# Each habit, and the close-but-correct code that must stay quiet ------------------------------------------------

DATA_ASSIGN = [
    """
    import torch
    w = torch.randn(3, requires_grad=True)
    (w ** 2).sum().backward()
    w.data -= 0.1 * w.grad  # <-
    """,
    """
    import torch.nn as nn
    layer = nn.Linear(2, 2)
    layer.weight.data = layer.weight.data * 0.5  # <-
    layer.bias.data[0] = 1.0  # <-
    for p in layer.parameters():
        p.data.add_(p.grad, alpha=-0.1)  # <-
        p.data.copy_(p.data.clamp(-1, 1))  # <-
    """,
]


@pytest.mark.parametrize("src", DATA_ASSIGN)
def test_data_assign_fires(src):
    assert_fires("data-assign", src)


@pytest.mark.parametrize(
    "src",
    [
        """
        import torch
        w = torch.randn(3, requires_grad=True)
        (w ** 2).sum().backward()
        print(w.data, w.data.norm())
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
        """,
        # a from-scratch engine: `.data` is the learner's own attribute
        """
        class Value:
            def __init__(self, data):
                self.data = data
                self.grad = 0.0

        def sgd(params, lr):
            for p in params:
                p.data -= lr * p.grad
        """,
        # a torchvision dataset keeps its samples in `.data`
        """
        def first_hundred(train_set):
            train_set.data = train_set.data[:100]
            return train_set
        """,
    ],
)
def test_data_assign_stays_quiet(src):
    assert_quiet(src)


ITEM_IN_LOOP = [
    """
    import torch
    x = torch.randn(10)
    total = 0.0
    for i in range(len(x)):
        total += x[i].item()  # <-
    """,
    """
    import torch
    def positives(t: torch.Tensor) -> int:
        return sum(1 for v in t if v.item() > 0)  # <-
    """,
    """
    def rows(t):
        out = []
        for i in range(t.shape[0]):
            out.append(t[i].tolist())  # <-
        j = 0
        while j < t.size(0):
            out.append(t[j].numpy())  # <-
            j += 1
        return out
    """,
    """
    import torch
    x = torch.arange(6).view(2, 3)
    pairs = [(i, v.item()) for i, v in enumerate(x.flatten())]  # <-
    """,
]


@pytest.mark.parametrize("src", ITEM_IN_LOOP)
def test_item_in_loop_fires(src):
    assert_fires("item-in-loop", src)


@pytest.mark.parametrize(
    "src",
    [
        # logging the loss once per step is the idiom
        """
        def train(model, loader, criterion, optimizer):
            total = 0.0
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                total += loss.item()
            return total
        """,
        # finite differences must visit each entry, and write it back
        """
        def numgrad(f, theta, eps=1e-6):
            flat = theta.view(-1)
            grads = []
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                up = f(theta).item()
                flat[i] = old
                grads.append((up - f(theta).item()) / eps)
            return grads
        """,
        # a count not known to belong to a tensor, and a list converted once
        """
        import torch
        def chart(ys, n):
            for i in range(n):
                print(i, ys[i].item())
            return [v for v in torch.arange(3).tolist()]
        """,
    ],
)
def test_item_in_loop_stays_quiet(src):
    assert_quiet(src)


TENSOR_FROM_TENSOR = [
    """
    import torch
    a = torch.tensor(torch.randn(3))  # <-
    x = torch.ones(2)
    x = x * 2
    b = torch.tensor(x)  # <-
    """,
    """
    import torch as th
    def f(w, x):
        g = th.tensor(w.grad)  # <-
        return th.tensor(x.float())  # <-
    """,
]


@pytest.mark.parametrize("src", TENSOR_FROM_TENSOR)
def test_tensor_from_tensor_fires(src):
    assert_fires("tensor-from-tensor", src)


def test_tensor_from_tensor_stays_quiet_on_data_and_unknowns():
    assert_quiet(
        """
        import numpy as np
        import torch

        def f(t, arr):
            a = torch.tensor([1.0, 2.0])
            b = torch.tensor(np.arange(3).T)
            c = torch.tensor(t)  # a parameter: it may well be a list
            d = torch.tensor(arr.reshape(2, 2))
            e = torch.tensor(a.tolist())
            return a, b, c, d, e, torch.tensor(a.sum().item())
        """
    )


LEGACY = [
    """
    import torch
    a = torch.Tensor([1, 2])  # <-
    b = torch.FloatTensor(3, 4)  # <-
    """,
    """
    import torch as th
    from torch import LongTensor
    idx = LongTensor([0, 1])  # <-
    blank = th.Tensor()  # <-
    """,
]


@pytest.mark.parametrize("src", LEGACY)
def test_legacy_constructor_fires(src):
    assert_fires("legacy-constructor", src)


def test_legacy_constructor_stays_quiet_on_types():
    assert_quiet(
        """
        import torch
        from torch import Tensor

        class Scaled(torch.Tensor):
            pass

        def f(x: torch.Tensor) -> Tensor:
            if isinstance(x, torch.Tensor):
                return torch.Tensor.add(x, 1)
            return x
        """
    )


NUMPY_ROUND_TRIP = [
    """
    import numpy as np
    import torch

    def sort_rows(x):
        a = x.detach().numpy()
        b = np.sort(a, axis=1)
        return torch.from_numpy(b)  # <-
    """,
    """
    import numpy as np
    import torch
    x = torch.randn(4)
    y = torch.tensor(x.numpy() ** 2)  # <-
    z = torch.as_tensor(np.asarray(torch.ones(3)))  # <-
    """,
]


@pytest.mark.parametrize("src", NUMPY_ROUND_TRIP)
def test_numpy_round_trip_fires(src):
    assert_fires("numpy-round-trip", src)


def test_numpy_round_trip_stays_quiet_on_data_in_and_plots_out():
    assert_quiet(
        """
        import numpy as np
        import torch

        def load(rows):
            return torch.from_numpy(np.asarray(rows, dtype=np.float32))

        def plot(x, ax):
            values = x.detach().cpu().numpy()
            ax.plot(values)
            n = len(values)
            return torch.tensor([n, values.shape[0]])
        """
    )


HARDCODED_CUDA = [
    """
    import torch
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = torch.nn.Linear(2, 2).cuda()  # <-
    x = torch.zeros(3).to("cuda")  # <-
    y = torch.zeros(3, device="cuda:0")  # <-
    with torch.autocast(device_type="cuda"):  # <-
        pass
    """,
    """
    def train(model, x, device):
        return model(x.cuda())  # <-
    """,
]


@pytest.mark.parametrize("src", HARDCODED_CUDA)
def test_hardcoded_cuda_fires(src):
    assert_fires("hardcoded-cuda", src)


@pytest.mark.parametrize(
    "src",
    [
        """
        import torch
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model = torch.nn.Linear(2, 2).to(device)
        x = torch.zeros(3, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        with torch.autocast(device_type=device):
            pass
        """,
        # no device variable to use instead: a GPU-only script is not this note's business
        """
        import torch
        x = torch.zeros(3).cuda()
        """,
    ],
)
def test_hardcoded_cuda_stays_quiet(src):
    assert_quiet(src)


def test_evaluation_without_eval_and_no_grad_gets_both_notes():
    src = """
    def evaluate(model, X, y, criterion):  # <-
        return criterion(model(X), y).item()
    """
    assert sorted(notes(src)) == [("eval-mode", 2), ("no-grad", 2)]


@pytest.mark.parametrize(
    ("note_id", "src"),
    [
        (
            "eval-mode",
            """
            import torch
            def validate(model, loader):  # <-
                correct = 0
                with torch.no_grad():
                    for xb, yb in loader:
                        pred = model(xb).argmax(1)
                        correct += (pred == yb).sum().item()
                return correct
            """,
        ),
        (
            "no-grad",
            """
            import torch.nn.functional as F
            class Trainer:
                def run_val(self, x, y):  # <-
                    self.model.eval()
                    return F.cross_entropy(self.model(x), y).item()
            """,
        ),
        (
            "no-grad",
            """
            def predict(model, X):  # <-
                model.eval()
                return model(X).argmax(1)
            """,
        ),
    ],
)
def test_evaluation_notes_fire(note_id, src):
    assert_fires(note_id, src)


@pytest.mark.parametrize(
    "src",
    [
        """
        import torch
        @torch.no_grad()
        def evaluate(model, X, y):
            model.train(False)
            return (model(X).argmax(1) == y).float().mean().item()
        """,
        # a local helper does it (one level down), or the caller does
        """
        import torch
        def _score(model, X, y):
            with torch.inference_mode():
                return (model(X).argmax(1) == y).float().mean().item()

        def evaluate(model, X, y):
            model.eval()
            return _score(model, X, y)

        def accuracy(model, X, y):
            return (model(X).argmax(1) == y).float().mean().item()

        def fit(model, X, y):
            model.eval()
            torch.set_grad_enabled(False)
            return accuracy(model, X, y)
        """,
        # not evaluation: the names only look alike, or it trains
        """
        def interval_loss(model, x, criterion):
            return criterion(model(x), x)

        def test_overfits_one_batch(model, x, y, criterion, opt):
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
        """,
    ],
)
def test_evaluation_notes_stay_quiet(src):
    assert_quiet(src)


ZERO_GRAD_ORDER = [
    """
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.zero_grad()  # <-
        optimizer.step()
    """,
    """
    import torch
    for step in range(100):
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        w.grad.zero_()  # <-
        with torch.no_grad():
            w -= 0.1 * w.grad
    """,
]


@pytest.mark.parametrize("src", ZERO_GRAD_ORDER)
def test_zero_grad_order_fires(src):
    assert_fires("zero-grad-order", src)


def test_zero_grad_order_stays_quiet_on_both_right_orders():
    assert_quiet(
        """
        for epoch in range(3):
            for xb, yb in loader:
                optimizer.zero_grad()
                criterion(model(xb), yb).backward()
                optimizer.step()
            for xb, yb in loader:
                criterion(model(xb), yb).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
        """
    )


SOFTMAX_CE = [
    """
    import torch.nn.functional as F
    loss = F.cross_entropy(F.softmax(logits, dim=1), y)  # <-
    probs = logits.softmax(1)
    loss = F.nll_loss(probs, y)  # <-
    """,
    """
    import torch
    from torch import nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.criterion = nn.CrossEntropyLoss()
            self.sm = nn.Softmax(dim=1)

        def loss(self, out, y):
            a = self.criterion(torch.softmax(out, 1), y)  # <-
            b = nn.CrossEntropyLoss()(self.sm(out), y)  # <-
            return a + b
    """,
]


@pytest.mark.parametrize("src", SOFTMAX_CE)
def test_softmax_cross_entropy_fires(src):
    assert_fires("softmax-cross-entropy", src)


def test_softmax_cross_entropy_stays_quiet_on_logits_and_log_softmax():
    assert_quiet(
        """
        import torch.nn.functional as F
        from torch import nn
        criterion = nn.CrossEntropyLoss()
        loss = criterion(logits, y) + F.cross_entropy(logits, y)
        loss = loss + F.nll_loss(F.log_softmax(logits, dim=1), y)
        probs = F.softmax(logits, dim=1)
        accuracy = (probs.argmax(1) == y).float().mean()
        loss = loss + F.mse_loss(probs, targets)
        """
    )


OPTIMIZER_IN_LOOP = [
    """
    import torch
    for xb, yb in loader:
        opt = torch.optim.SGD(model.parameters(), lr=0.1)  # <-
        loss = criterion(model(xb), yb)
        loss.backward()
        opt.step()
    """,
    """
    from torch.optim import Adam
    for epoch in range(5):
        for xb, yb in loader:
            opt = Adam(model.parameters())  # <-
            criterion(model(xb), yb).backward()
            opt.step()
    """,
]


@pytest.mark.parametrize("src", OPTIMIZER_IN_LOOP)
def test_optimizer_in_loop_fires(src):
    assert_fires("optimizer-in-loop", src)


@pytest.mark.parametrize(
    "src",
    [
        # a fresh model and optimizer per configuration
        """
        import torch
        for lr in (0.1, 0.01):
            model = make_model()
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            sched = torch.optim.lr_scheduler.StepLR(opt, 10)
            for epoch in range(5):
                criterion(model(x), y).backward()
                opt.step()
        """,
        """
        import torch
        for model in models:
            opt = torch.optim.Adam(model.parameters())
            for step in range(10):
                criterion(model(x), y).backward()
                opt.step()
        for lr in (0.1, 0.01):
            model.load_state_dict(initial)
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            criterion(model(x), y).backward()
            opt.step()
        """,
        # built once, before the loop
        """
        import torch
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for xb, yb in loader:
            opt.zero_grad()
            criterion(model(xb), yb).backward()
            opt.step()
        """,
    ],
)
def test_optimizer_in_loop_stays_quiet(src):
    assert_quiet(src)


# The contract: ids, order, switching off, plain one-sentence messages -----------------------------------------------

EVERY_HABIT = [*DATA_ASSIGN, *ITEM_IN_LOOP, *TENSOR_FROM_TENSOR, *LEGACY, *NUMPY_ROUND_TRIP, *HARDCODED_CUDA,
               *ZERO_GRAD_ORDER, *SOFTMAX_CE, *OPTIMIZER_IN_LOOP]  # fmt: skip


def test_every_note_is_listed_sorted_unique_and_plain():
    seen = set()
    for src in EVERY_HABIT:
        found = code_notes(ast.parse(textwrap.dedent(src)))
        assert found == sorted(found, key=lambda n: (n.line, n.id))
        assert len({(n.id, n.line) for n in found}) == len(found)
        for note in found:
            seen.add(note.id)
            assert note.id in NOTE_IDS and re.fullmatch(r"[a-z]+(-[a-z]+)*", note.id)
            assert "\n" not in note.message and note.message.endswith(".")
            assert not re.search(r"\[/?[a-z ]+\]", note.message), note.message  # no Rich markup
    assert seen | {"eval-mode", "no-grad"} == set(NOTE_IDS)


def test_notes_switched_off_are_left_out():
    src = DATA_ASSIGN[1]
    assert notes(src, off=("data-assign",)) == []
    assert notes(src, off=("no-grad",)) == notes(src)


# The lessons' own correct code gets no note -------------------------------------------------------------------------

# (lesson id, note id) pairs whose reference or alternative shows the habit on purpose.
SWITCHED_OFF = {
    # An alternative shows initialising through `.data` as an accepted (older) way to do it;
    # the note is exactly the advice a learner writing it should get.
    ("modules/init-schemes", "data-assign"),
}
CATALOG = load_catalog()
PROGRAMS = [item for item in CATALOG.lessons if item.lesson.kind != "quiz"]


@pytest.mark.parametrize("item", PROGRAMS, ids=lambda i: i.lesson.id)
def test_no_note_on_references_and_alternatives(item):
    lesson_id = item.lesson.id
    off = {note for lid, note in SWITCHED_OFF if lid == lesson_id}
    for variant in (0, 1):
        lesson, _ = instantiate(item.lesson, variant)
        programs = {"solution": lesson.solution} | {f"alternative {a.note!r}": decoy_code(lesson, a) for a in lesson.alternatives}
        for name, code in programs.items():
            found = code_notes(ast.parse(code), off)
            assert found == [], f"{lesson_id} variant {variant} {name}: {found}"


def test_every_switched_off_pair_is_still_needed():
    for lesson_id, note_id in SWITCHED_OFF:
        lesson = CATALOG.get(lesson_id).lesson
        programs = [lesson.solution, *(decoy_code(lesson, a) for a in lesson.alternatives)]
        assert any(n.id == note_id for code in programs for n in code_notes(ast.parse(code))), (lesson_id, note_id)


def test_no_rule_breaks_on_any_program_in_the_catalog():
    for item in CATALOG.lessons:
        lesson = item.lesson
        for code in [lesson.starter, lesson.solution, *(decoy_code(lesson, d) for d in lesson.decoys)]:
            with contextlib.suppress(SyntaxError):
                code_notes(ast.parse(code))


# Notes from the run's stderr ----------------------------------------------------------------------------------------


def test_stderr_notes_find_the_copy_warning_at_the_learners_line():
    code = compile("import torch\n\nx = torch.ones(2)\ny = torch.tensor(x)\n", "/tmp/x.py", "exec")
    stderr = io.StringIO()
    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line)
        )
        exec(code, {})
    printed = stderr.getvalue()
    assert "UserWarning" in printed
    assert [(n.id, n.line) for n in stderr_notes(printed, "/tmp/x.py")] == [("tensor-from-tensor", 4)]
    assert stderr_notes(printed, "/tmp/other.py") == []


def test_stderr_notes_keep_one_note_per_line():
    line = "/tmp/x.py:7: UserWarning: To copy construct from a tensor, it is recommended to use ...\n  y = torch.tensor(x)\n"
    other = "/usr/lib/torch/foo.py:3: UserWarning: To copy construct from a tensor, ...\n"
    assert [n.line for n in stderr_notes(line * 3 + other, "/tmp/x.py")] == [7]
