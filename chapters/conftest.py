"""pytest settings for running the chapters under nbval.

1. The sanitize file. pyproject.toml names it as ``chapters/sanitize.cfg``, a path relative to
   the repository root. nbval opens it relative to the current folder, so ``pytest --nbval
   path/to/chapters`` run from anywhere else would fail on every cell with FileNotFoundError.
   This resolves the path against the repository root when it is not found where pytest was
   started.

2. One failure per broken notebook. A notebook's cells share one kernel, so once a cell raises,
   the cells after it fail too, mostly with NameErrors that bury the real failure. Once a cell
   raises an exception, the rest of that notebook is skipped, and the skip says why. (A cell
   whose output merely differs from the stored one does not stop the notebook: its kernel is
   fine, and the other differences are worth seeing.)

3. Missing data, said plainly. When the exception is one of ``companion.data``'s errors (no
   MNIST offline, a damaged file), the failure shows the loader's message, which names what is
   missing and how to get it, instead of the kernel's full traceback.
"""

from pathlib import Path

import pytest

from companion.data import errors as data_errors

#: Class names of companion.data's errors, as a kernel reports them in an error output.
DATA_ERRORS = {
    name
    for name, value in vars(data_errors).items()
    if isinstance(value, type) and issubclass(value, data_errors.DataError)
}

#: What to do, said after the loader's own message (which lists every way to get the data).
DATA_FIX = (
    "To check the chapters offline, set COMPANION_DATA_DIR to a folder holding mnist/ with the "
    "four MNIST files (`. .ci/env.sh` sets it to ../shared/data when that folder exists), "
    "then run pytest again."
)

_first_error = {}  # notebook path -> "Cell N raised SomeError", for the cells after it


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if not sanitize or Path(sanitize).is_absolute() or Path(sanitize).is_file():
        return
    from_root = Path(config.rootpath) / sanitize
    if from_root.is_file():
        config.option.nbval_sanitize_with = str(from_root)


def _is_cell(item) -> bool:
    """True for a notebook cell that nbval runs as a test."""
    return hasattr(item, "cell_num") and item.path.suffix == ".ipynb"


def _raised(item):
    """The error output of the cell's run (name, value, traceback), or None if it raised none."""
    for output in getattr(item, "test_outputs", None) or ():
        if output.get("output_type") == "error":
            return output
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _is_cell(item) and item.path in _first_error:
        pytest.skip(
            f"{item.path.name}: not run, because {_first_error[item.path]} "
            "(see that failure)"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.failed or not _is_cell(item):
        return
    error = _raised(item)
    if (
        error is None
    ):  # the outputs differ, or nbval itself failed: the kernel is still usable
        return
    _first_error.setdefault(item.path, f"{item.name} raised {error['ename']}")
    if error["ename"] in DATA_ERRORS:
        report.longrepr = (  # its first line is pytest's one-line summary of the failure
            f"{error['ename']}: {error['evalue']}\n\n{DATA_FIX}\n"
            f"The remaining cells of {item.path.name} are skipped."
        )
