"""Exceptions raised by :mod:`companion.data`.

Every error says what was wrong and what to do about it. All of them derive from
:class:`DataError`, itself a :class:`ValueError`, so ``except ValueError`` catches them too.
"""


class DataError(ValueError):
    """Base class of every error raised by :mod:`companion.data`."""


class IDXFormatError(DataError):
    """An IDX file is corrupt, truncated, or not an IDX file at all."""


class ChecksumError(DataError):
    """A downloaded or cached file does not have its published md5 checksum."""


class DownloadError(DataError, ConnectionError):
    """A file could not be downloaded from any mirror (no network, server error, cut transfer)."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data set is in none of the places searched, or a folder lacks some of its files."""
