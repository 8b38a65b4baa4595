"""Exceptions raised by :mod:`companion.data`.

Every error says what was wrong and what to do about it. All of them derive from
:class:`DataError`, itself a :class:`ValueError`, so ``except ValueError`` catches them too.

A message may tell the reader to name a data folder or to allow a download. ``str(err)``
words that in the library's terms (``root=``, ``download=True``); a caller that offers the
same choices under other names, such as the command line's ``--data-dir``, shows the same error
in its own words with :meth:`DataError.render`::

    except DataError as err:
        print(err.render(root="--data-dir"))
"""

from pathlib import Path

#: The library's words for the placeholders a message may hold; see :meth:`DataError.render`.
LIBRARY_WORDS = {
    "root": "root=",                               # the argument that names a data folder
    "download": "call again with download=True",   # how to let the loader download
}


class DataError(ValueError):
    """Base class of every error raised by :mod:`companion.data`.

    Attributes
    ----------
    path : pathlib.Path or None
        The file or folder the error is about; None when no single one is.
    template : str
        The message, with ``{root}`` and ``{download}`` where it names the loader's options.
    """

    def __init__(self, template: str, *, path=None):
        self.template = template
        self.path = None if path is None else Path(path)
        super().__init__(self.render())

    def render(self, **words: str) -> str:
        """The message with the placeholders filled in: ``words`` where given, else the
        library's :data:`LIBRARY_WORDS` (e.g. ``render(root="--data-dir")``)."""
        text = self.template
        for key, default in LIBRARY_WORDS.items():
            text = text.replace("{" + key + "}", words.get(key, default))
        return text


class IDXFormatError(DataError):
    """An IDX file is corrupt, truncated, of the wrong kind, or not an IDX file at all."""


class ChecksumError(DataError):
    """A downloaded or cached file does not have its published md5 checksum."""


class DownloadError(DataError, ConnectionError):
    """A file could not be downloaded from any mirror (no network, server error, cut transfer)."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data set is in none of the places searched, or a folder lacks some of its files."""


class DataReadError(DataError, OSError):
    """A data file or folder exists but cannot be read (no permission, a disk error)."""
