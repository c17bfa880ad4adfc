"""Words the app and the commands show: counts, and the line that tells versions apart."""

from __future__ import annotations

from tutor.core.text import plural, telling_line


def test_counts_read_as_english():
    assert plural(1, "attempt") == "1 attempt" and plural(2, "attempt") == "2 attempts"
    assert plural(1, "day") == "1 day" and plural(0, "day") == "0 days"
    assert plural(3, "mistake") + " over " + plural(1, "day") == "3 mistakes over 1 day"


def test_a_version_is_shown_by_the_line_that_differs_from_the_code_now():
    now = "import torch\n\nz = torch.zeros(1, 10)\n"
    assert telling_line("import torch\n\nz = a[i] + b[/]\n", now) == "z = a[i] + b[/]"
    # Nothing differs line by line (the same lines, reordered): the first line that is not an import.
    assert telling_line("z = torch.zeros(1, 10)\nimport torch\n", now) == "z = torch.zeros(1, 10)"
    assert telling_line("", now) == "(empty)"
