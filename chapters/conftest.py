"""pytest settings for running the chapters under nbval.

pyproject.toml names the sanitize file as ``chapters/sanitize.cfg``, a path relative to the
repository root. nbval opens it relative to the current folder, so ``pytest --nbval
path/to/chapters`` run from anywhere else would fail on every cell with FileNotFoundError. This
resolves the path against the repository root when it is not found where pytest was started.
"""

from pathlib import Path


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if not sanitize or Path(sanitize).is_absolute() or Path(sanitize).is_file():
        return
    from_root = Path(config.rootpath) / sanitize
    if from_root.is_file():
        config.option.nbval_sanitize_with = str(from_root)
