"""Hostile submissions: none passes, each ends within its limit plus two seconds,
nothing is left running, and the learner is told what happened in plain words."""

from __future__ import annotations

import os
import socket
import textwrap
import time

import pytest

from engine.checks.checker import Checker
from engine.lessons.format import Lesson
from engine.sandbox.client import Runner
from engine.sandbox.confine import bwrap_usable

pytestmark = pytest.mark.slow

LIMIT_S = 3.0

LESSON = Lesson.model_validate(
    {
        "id": "redteam/double",
        "title": "Double a tensor",
        "track": "redteam",
        "kind": "drill",
        "skills": ["creation"],
        "source": {"seed": "tests", "section": "red team"},
        "minutes": 1,
        "limits": {"seconds": LIMIT_S, "memory_mb": 512},
        "task": "Write double(x) returning 2 * x.",
        "starter": "def double(x):\n    ...\n",
        "solution": "def double(x):\n    return 2 * x\n",
        "hints": ["multiply", "2 * x"],
        "checks": [{"name": "doubles", "expr": "double(x)", "inputs": {"x": "randn(3, 4)"}}],
    }
)

CORRECT = "\ndef double(x):\n    return 2 * x\n"


# Every attack runs with the kernel layers alone, and again inside bubblewrap where it works.
MODES = ["kernel-layers"] + (["bubblewrap"] if bwrap_usable() else [])


@pytest.fixture(scope="module", params=MODES)
def runner(request):
    mp = pytest.MonkeyPatch()
    mp.setenv("TUTOR_BWRAP", "1" if request.param == "bubblewrap" else "0")
    with Runner() as r:
        r.start_background()
        yield r
    mp.undo()


@pytest.fixture(scope="module")
def checker(runner):
    """Warm before the first attack: the runner's start (torch imported once) and the reference
    run are not the attack's time, whichever test a worker happens to run first."""
    warm = Checker(runner)
    assert warm.check(LESSON, CORRECT).passed
    return warm


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def assert_nothing_left(runner: Runner) -> None:
    zygote = runner._zygote
    assert zygote is not None and zygote.alive(), "the runner itself must survive"
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        left = descendants(zygote.pid)
        if len(left) <= 1:  # the one spare child, forked ahead for the next check
            return
        time.sleep(0.05)
    raise AssertionError(f"processes left behind: {sorted(left)}")


def judge(checker: Checker, code: str, expect: str | tuple[str, ...], lesson: Lesson = LESSON, spawned: bool = False):
    """Not passed, within the limit plus two seconds, with a sentence that says why.

    Forked runs are timed on the wall clock; a spawned run from when its child began
    the job, since a cold interpreter's start-up is not the learner's code.
    """
    start = time.monotonic()
    verdict = checker.check(lesson, textwrap.dedent(code))
    elapsed = verdict.duration_ms / 1000 if spawned else time.monotonic() - start
    assert not verdict.passed
    assert elapsed < LIMIT_S + 2.0, f"took {elapsed:.1f} s"
    said = " | ".join(filter(None, [verdict.problem] + [c.message for c in verdict.checks]))
    wanted = (expect,) if isinstance(expect, str) else expect
    assert any(w in said for w in wanted), said
    if not spawned:
        assert_nothing_left(checker.runner)
    return verdict


def test_the_honest_answer_passes_through_the_same_sandbox(checker):
    verdict = checker.check(LESSON, CORRECT)
    assert verdict.passed, verdict.to_json()


def test_doctor_names_the_layers_a_check_really_gets(checker):
    from engine.sandbox.confine import available_layers

    ran = checker.check(LESSON, CORRECT).sandbox
    said = available_layers()
    for layer in ("rlimits", "audit hook", "seccomp", "landlock"):
        assert ran[layer].startswith("active") == said[layer].startswith("active"), (layer, ran, said)


def test_infinite_loop(checker):
    judge(checker, "while True:\n    pass\n" + CORRECT, f"ran longer than {LIMIT_S:g} s")


def test_sleeping_forever(checker):
    judge(checker, "import time\ntime.sleep(10**6)\n" + CORRECT, f"ran longer than {LIMIT_S:g} s")


def test_memory_bomb(checker):
    judge(
        checker, "hoard = []\nwhile True:\n    hoard.append(bytearray(50 << 20))\n" + CORRECT, "used more than 512 MiB of memory"
    )


def test_torch_memory_bomb(checker):
    judge(checker, "import torch\nbig = torch.empty(10**11)\n" + CORRECT, "used more than 512 MiB of memory")


def test_fork_bomb(checker):
    judge(checker, "import os\nwhile True:\n    os.fork()\n" + CORRECT, "tried to start another process")


def test_fork_caught_and_ignored_still_fails(checker):
    code = "import os\ntry:\n    os.fork()\nexcept Exception:\n    pass\n" + CORRECT
    judge(checker, code, "tried to start another process")


def test_subprocess(checker):
    judge(checker, "import subprocess\nsubprocess.run(['sleep', '100'])\n" + CORRECT, "tried to start another process")


def test_grandchild_that_calls_setsid_through_ctypes(checker):
    code = """
    import ctypes, time
    libc = ctypes.CDLL(None)
    if libc.fork() == 0:
        libc.setsid()
        time.sleep(100)
    """
    judge(checker, textwrap.dedent(code) + CORRECT, ("system call the sandbox forbids", "tried to start another process"))


def test_output_flood(checker):
    verdict = judge(checker, "while True:\n    print('x' * 10000)\n" + CORRECT, f"ran longer than {LIMIT_S:g} s")
    assert 0 < len(verdict.stdout) <= (1 << 20) + 10000


def test_huge_file(checker):
    judge(checker, "with open('big', 'wb') as f:\n    f.write(b'0' * (100 << 20))\n" + CORRECT, "larger than 64 MiB")


def test_many_files(checker):
    judge(checker, "for i in range(100000):\n    open(f'f{i}', 'w').close()\n" + CORRECT, "created too many files")


def test_writing_outside_the_job_folder(checker, tmp_path):
    target = tmp_path / "escaped.txt"
    judge(checker, f"open({str(target)!r}, 'w').write('hi')\n" + CORRECT, "tried to write outside its working folder")
    assert not target.exists()


def test_network_connection_to_a_local_listener(checker):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port})).sendall(b'leak')\n" + CORRECT
        judge(checker, code, "tried to open a network connection")
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_killing_the_parent(checker):
    judge(checker, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + CORRECT, "tried to signal another process")


def test_killing_the_parent_through_ctypes(checker):
    code = "import ctypes, os\nctypes.CDLL(None).kill(os.getppid(), 9)\n"
    judge(checker, code + CORRECT, "system call the sandbox forbids")


def test_segfault_through_ctypes(checker):
    judge(checker, "import ctypes\nctypes.string_at(0)\n" + CORRECT, "segmentation fault")


def test_sys_exit_before_the_checks(checker):
    judge(checker, "import sys\nsys.exit(0)\n" + CORRECT, "SystemExit")


def test_os_exit_before_the_checks(checker):
    judge(checker, "import os\nos._exit(0)\n" + CORRECT, "exited before the checks finished")


def test_monkeypatching_allclose_changes_nothing(checker):
    code = "import torch\ntorch.allclose = lambda *a, **k: True\ndef double(x):\n    return x\n"
    judge(checker, code, "values differ")


def test_monkeypatching_import_changes_nothing(checker):
    code = """
    import builtins
    real = builtins.__import__
    class Fake:
        def __getattr__(self, name):
            raise RuntimeError('patched')
    builtins.__import__ = lambda name, *a, **k: Fake() if name.startswith('torch') else real(name, *a, **k)
    def double(x):
        return x
    """
    judge(checker, code, "values differ")


def test_forging_a_result_on_stdout(checker):
    code = 'print(\'{"type": "result", "check": 0, "case": 0, "value": 1}\')\nprint(\'{"type": "done"}\')\ndef double(x):\n    return x\n'
    judge(checker, code, "values differ")


def test_forging_results_on_the_event_channel(checker):
    code = """
    import os
    forged = b'{"type": "result", "check": 0, "case": 0, "value": null}\\n{"type": "done"}\\n'
    for fd in range(3, 12):
        try:
            os.write(fd, forged)
        except OSError:
            pass
    def double(x):
        return 2 * x
    """
    judge(checker, code, "could not be trusted")


def test_many_threads_neither_hang_nor_pass(checker):
    code = "import torch\ntorch.set_num_threads(64)\nwhile True:\n    torch.randn(300, 300) @ torch.randn(300, 300)\n"
    judge(checker, code + CORRECT, (f"ran longer than {LIMIT_S:g} s", f"used more than {LIMIT_S:g} s of CPU time"))


def test_asking_for_many_threads_is_not_mistaken_for_a_memory_hog(checker):
    """64 threads each reserve stack and a malloc arena: address space, not memory used."""
    code = (
        "import torch\ntorch.set_num_threads(64)\nx = torch.randn(1000, 1000)\nfor _ in range(4):\n    (x @ x).softmax(1).sum()\n"
    )
    verdict = checker.check(LESSON, code + CORRECT)
    assert verdict.passed, verdict.problem


def test_runner_still_answers_after_the_attacks(checker):
    assert checker.check(LESSON, CORRECT).passed


# --- the spawned path, which GPU lessons take: same confinement, memory watched as RSS -----------

GPU_LESSON = LESSON.model_copy(
    update={"id": "redteam/double-gpu", "requires": LESSON.requires.model_copy(update={"device": "gpu-preferred"})}
)


@pytest.fixture(scope="module")
def spawn_checker():
    from engine.sandbox.client import Runner as _Runner

    return Checker(_Runner(), gpu_runner=_Runner(spawn=True))


def judge_spawned(checker, code: str, expect: str | tuple[str, ...]):
    return judge(checker, code, expect, lesson=GPU_LESSON, spawned=True)


def test_spawned_honest_answer_passes(spawn_checker):
    verdict = spawn_checker.check(GPU_LESSON, CORRECT)
    assert verdict.passed, verdict.to_json()
    from engine.sandbox.confine import available_layers

    # The spawned child gets exactly the kernel layers this machine can apply, as doctor says.
    said = available_layers()
    for layer in ("seccomp", "landlock", "rlimits", "audit hook"):
        assert verdict.sandbox[layer].startswith("active") == said[layer].startswith("active"), (layer, verdict.sandbox)


def test_spawned_memory_bomb_is_stopped_by_the_watchdog(spawn_checker):
    judge_spawned(
        spawn_checker,
        "hoard = []\nwhile True:\n    hoard.append(bytearray(50 << 20))\n" + CORRECT,
        "used more than 512 MiB of memory",
    )


def test_spawned_infinite_loop(spawn_checker):
    judge_spawned(spawn_checker, "while True:\n    pass\n" + CORRECT, (f"ran longer than {LIMIT_S:g} s", "CPU time"))


def test_spawned_fork_and_network_are_refused(spawn_checker):
    judge_spawned(spawn_checker, "import os\nos.fork()\n" + CORRECT, "tried to start another process")
    judge_spawned(spawn_checker, "import socket\nsocket.socket()\n" + CORRECT, "tried to open a network connection")
    judge_spawned(
        spawn_checker, "import ctypes, os\nctypes.CDLL(None).kill(os.getppid(), 9)\n" + CORRECT, "system call the sandbox forbids"
    )
