"""chapters/conftest.py: a notebook that raises shows one failure, the rest of it is skipped
with a reason, and missing data is reported by the loader's message, not a traceback.

Each test runs pytest with nbval in a subprocess, on small notebooks written to a temporary
folder beside a copy of chapters/conftest.py, with no data anywhere (an empty
$COMPANION_DATA_DIR and cache) and downloads switched off, so no network is needed.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")

CONFTEST = Path(__file__).resolve().parents[1] / "chapters" / "conftest.py"

pytestmark = pytest.mark.slow  # starts a Jupyter kernel per notebook: a few seconds


def notebook(path, cells):
    """Write a notebook of code cells; ``cells`` holds (source, stored output or None).

    A cell with a stored output is a run reference cell whose output nbval compares; one
    without is an unrun cell, which nbval executes without comparing.
    """
    nb = nbformat.v4.new_notebook()
    for i, (source, stored) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if stored is not None:
            cell.execution_count = i + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))


def run_pytest(folder):
    """pytest --nbval on ``folder`` with no data anywhere; returns (exit status, output)."""
    shutil.copy(CONFTEST, folder / "conftest.py")
    (folder / "pytest.ini").write_text("[pytest]\n")  # keep the repository's settings out
    (folder / "empty").mkdir()
    env = dict(os.environ, COMPANION_DATA_DIR=str(folder / "empty"),
               COMPANION_CACHE_DIR=str(folder / "cache"), NO_COLOR="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-rfEs",
         "-p", "no:cacheprovider", "-p", "no:randomly", "--color=no", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def section(output, name):
    """The text of one test's failure section in pytest's output."""
    start = output.index(f"::{name} _")
    end = min(output.find(marker, start + 1) for marker in ("\n____", "\n====")
              if output.find(marker, start + 1) != -1)
    return output[start:end]


def test_missing_data_gives_one_clear_failure_and_skips_the_rest(tmp_path):
    notebook(tmp_path / "nb_data.ipynb", [
        ("from companion.data import load_mnist", None),
        ("print('before')", "before\n"),
        ("data = load_mnist(download=False)", None),
        ("print(data.n_train)", "22699\n"),       # would be a NameError
        ("print(len(data.x_test))", "10000\n"),   # and another
    ])
    status, out = run_pytest(tmp_path)
    assert status == 1, out
    assert "1 failed, 2 passed, 2 skipped" in out, out
    assert "NameError" not in out, out
    failure = section(out, "Cell 2")
    for expected in ("DataNotFoundError: MNIST not found", "COMPANION_DATA_DIR",
                     "set COMPANION_DATA_DIR to a folder holding mnist/",
                     "remaining cells of nb_data.ipynb are skipped"):
        assert expected in failure, f"{expected!r} missing from:\n{failure}"
    assert "Traceback" not in failure, failure  # the loader's message, not the kernel's trace
    # the skip reason is in the short summary, once for the notebook's skipped cells
    assert ("SKIPPED [2] " in out and "nb_data.ipynb: not run, because Cell 2 raised "
            "DataNotFoundError" in out), out
    assert "FAILED nb_data.ipynb::Cell 2 - DataNotFoundError: MNIST not found" in out, out


def test_other_exceptions_keep_their_traceback_and_skip_the_rest(tmp_path):
    notebook(tmp_path / "nb_error.ipynb", [
        ("x = 1 / 0", None),
        ("print(x)", "1.0\n"),
    ])
    status, out = run_pytest(tmp_path)
    assert status == 1 and "1 failed, 1 skipped" in out, out
    assert "ZeroDivisionError" in section(out, "Cell 0") and "NameError" not in out, out
    assert "nb_error.ipynb: not run, because Cell 0 raised ZeroDivisionError" in out, out


def test_a_changed_output_does_not_stop_the_notebook(tmp_path):
    """Only an exception breaks the kernel's state; a number that moved does not, and the
    differences after it are still worth seeing."""
    notebook(tmp_path / "nb_diff.ipynb", [
        ("print(1)", "2\n"),
        ("print(3)", "4\n"),
        ("print('ok')", "ok\n"),
    ])
    status, out = run_pytest(tmp_path)
    assert status == 1 and "2 failed, 1 passed" in out and "skipped" not in out, out


def test_each_notebook_stops_on_its_own(tmp_path):
    notebook(tmp_path / "nb_a.ipynb", [("raise RuntimeError('a')", None), ("pass", None)])
    notebook(tmp_path / "nb_b.ipynb", [("pass", None), ("pass", None)])
    status, out = run_pytest(tmp_path)
    assert "1 failed, 2 passed, 1 skipped" in out, out
