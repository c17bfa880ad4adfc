"""A quiz answer is read as text, never run: the spellings a person types, and what they mean."""

from __future__ import annotations

import pytest

from engine.checks.quiz import Unreadable, parse, same, shown, spellings


@pytest.mark.parametrize(
    ("text", "kind", "want"),
    [
        ("(3, 1)", "shape", ["shape", [3, 1]]),
        ("3, 1", "shape", ["shape", [3, 1]]),
        ("torch.Size([3, 1])", "shape", ["shape", [3, 1]]),
        ("3 x 1", "shape", ["shape", [3, 1]]),
        ("[4]", "shape", ["shape", [4]]),
        ("5", "shape", ["shape", [5]]),
        ("()", "shape", ["shape", []]),
        ("torch.float32", "dtype", ["dtype", "torch.float32"]),
        ("float", "dtype", ["dtype", "torch.float32"]),
        ("long", "dtype", ["dtype", "torch.int64"]),
        ("`torch.bool`", "dtype", ["dtype", "torch.bool"]),
        ("True", "value", ["value", True]),
        ("tensor([1., 2.])", "value", ["value", [1.0, 2.0]]),
        ("6  # the sum", "value", ["value", 6]),
        ("-inf", "value", ["value", float("-inf")]),
        ("error: RuntimeError", "error", ["error", "RuntimeError"]),
        ("raises IndexError", "shape", ["error", "IndexError"]),
    ],
)
def test_the_ways_a_person_writes_an_answer(text, kind, want):
    assert parse(text, kind) == want


@pytest.mark.parametrize(("text", "kind"), [("", "shape"), ("error", "error"), ("3 by four", "shape"), ("floaty", "dtype"),
                                           ("(3, 1)", "error"), ("import os", "value")])  # fmt: skip
def test_what_cannot_be_read_says_how_to_write_it(text, kind):
    with pytest.raises(Unreadable):
        parse(text, kind)


def test_values_compare_within_float_noise_but_types_do_not_blur():
    assert same(["value", 0.30000001], ["value", 0.3]) and not same(["value", 0.31], ["value", 0.3])
    assert not same(["value", 1], ["value", True]) and same(["value", [1, 2]], ["value", [1, 2]])
    assert same(["error", "runtimeerror"], ["error", "RuntimeError"]) and not same(["shape", [3]], ["value", [3]])
    assert same(parse("nan", "value"), ["value", float("nan")]) and not same(["value", 1.0], ["value", float("nan")])


@pytest.mark.parametrize("truth", [["shape", [2, 3]], ["shape", [4]], ["dtype", "torch.int64"], ["value", [1.5, 2.0]],
                                   ["error", "RuntimeError"]])  # fmt: skip
def test_every_spelling_offered_reads_back_as_the_answer(truth):
    for text in [shown(truth), *spellings(truth)]:
        assert same(parse(text, truth[0]), truth), text
