"""Errors that the command line reports as one clear line (exit status 2, no traceback)."""


class ReproError(Exception):
    """A user-facing error: bad input, missing data, failed notebook.

    The CLI prints ``error: <message>`` and exits with status 2.
    """


class ParameterError(ReproError, ValueError):
    """Unknown parameter, wrong type or value out of range."""


class DataError(ReproError):
    """A data set, or one of its files, is missing or does not match the registry."""


class ChainError(ReproError):
    """Unknown chain, or a notebook of a chain failed."""
