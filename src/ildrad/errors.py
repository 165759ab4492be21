"""Exceptions of ildrad.

Every error caused by what the user gave us (a file, a table, a configuration) is an
:class:`InputError`; the command line maps it to exit code 2 and prints its message, which
names the file or key and says what is wrong. Anything else is a bug (exit code 1).
Domain exceptions also subclass a builtin (``ValueError``) so callers may catch either.
"""

from __future__ import annotations


class IldradError(Exception):
    """Base class of every exception raised on purpose by ildrad."""


class InputError(IldradError, ValueError):
    """Bad input: a file, table, mask or setting that cannot give a correct result."""


class ConfigError(InputError):
    """A configuration file or value is not valid (unknown key, bad value)."""


class DicomError(InputError):
    """A DICOM file or series cannot be read or is inconsistent."""


class GridMismatchError(InputError):
    """Two images or masks that must share a voxel grid do not."""


class EmptyMaskError(InputError):
    """A region of interest holds no voxel."""


class UnitError(InputError):
    """An operation that needs a physical unit (HU, SUV) got an image in another unit."""


class IldradWarning(UserWarning):
    """Base category of ildrad's warnings (so that users can filter them as a group)."""


class IncompleteHeaderWarning(IldradWarning):
    """A DICOM header lacks fields that are expected but not strictly needed."""
