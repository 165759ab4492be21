"""The image model: one voxel grid, images with a physical unit, and label masks on the grid.

Conventions (the same everywhere in ildrad):

* Arrays are indexed ``(z, y, x)``: axis 0 is the slice axis, axis 2 the column axis.
* ``Grid.spacing`` is given in array order ``(z, y, x)`` in millimetres.
* ``Grid.origin`` is the physical position (LPS patient coordinates, x, y, z in mm, as in
  DICOM and ITK) of the *centre* of voxel ``[0, 0, 0]``.
* ``Grid.direction`` is a 3 x 3 matrix whose column ``j`` is the unit vector (LPS) along array
  axis ``j``. So the physical position of index ``(k, j, i)`` is
  ``origin + direction @ (spacing * (k, j, i))``. The default is the axial grid
  ``[[0, 0, 1], [0, 1, 0], [1, 0, 0]]`` (array x along LPS x, y along y, slices along z), which is
  SimpleITK's identity direction.

An :class:`Image` carries its unit: ``HU`` for CT, ``SUV`` for PET after conversion, the stored
PET unit before it, and ``none`` once intensities have been normalised, so that an HU threshold
can never be applied to z-scores (:func:`require_unit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

import numpy as np

from ildrad.errors import GridMismatchError, InputError, UnitError

__all__ = [
    "Grid",
    "Image",
    "Mask",
    "Modality",
    "Unit",
    "assert_same_grid",
    "require_unit",
]

#: Metadata keys that must never be stored in an Image (patient-identifying DICOM fields).
IDENTIFYING_KEYS = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "OtherPatientIDs",
        "OtherPatientNames",
        "AccessionNumber",
        "InstitutionName",
        "InstitutionAddress",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "PhysiciansOfRecord",
        "StudyID",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "StationName",
        "DeviceSerialNumber",
    }
)

# Geometry tolerances: spacing/origin in mm, direction cosines unitless.
_SPACING_TOL_MM = 1e-4
_ORIGIN_TOL_MM = 1e-3
_DIRECTION_TOL = 1e-5


class Modality(str, Enum):
    """Imaging modality of an :class:`Image`."""

    CT = "CT"
    PT = "PT"
    MR = "MR"
    OTHER = "OT"


class Unit(str, Enum):
    """Physical unit of the voxel values of an :class:`Image`."""

    HU = "HU"  #: Hounsfield units (CT)
    SUV = "SUV"  #: standardised uptake value (g/mL), body weight unless metadata says otherwise
    BQML = "BQML"  #: activity concentration, Bq/mL (PET before SUV conversion)
    PET_STORED = "PET_STORED"  #: PET values in a stored unit other than Bq/mL (CNTS, GML, ...)
    NONE = "none"  #: no physical unit (normalised, filtered, or unknown)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A voxel grid in physical space (see the module docstring for the conventions)."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Default: the axial grid, array z along LPS z, y along y, x along x (ITK's identity).
    direction: tuple[tuple[float, float, float], ...] = (
        (0.0, 0.0, 1.0),
        (0.0, 1.0, 0.0),
        (1.0, 0.0, 0.0),
    )

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        spacing = tuple(float(s) for s in self.spacing)
        origin = tuple(float(o) for o in self.origin)
        direction = np.asarray(self.direction, dtype=float)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"grid shape must be three positive sizes (z, y, x), got {shape}")
        if len(spacing) != 3 or min(spacing) <= 0 or not np.all(np.isfinite(spacing)):
            raise InputError(f"grid spacing must be three positive sizes in mm, got {spacing}")
        if direction.shape != (3, 3):
            raise InputError(f"grid direction must be a 3 x 3 matrix, got shape {direction.shape}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "direction", tuple(tuple(row) for row in direction.tolist()))

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction as a 3 x 3 array; column j is the LPS unit vector of array axis j."""
        return np.asarray(self.direction, dtype=float)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm^3."""
        return float(np.prod(self.spacing))

    def index_to_physical(self, index: np.ndarray) -> np.ndarray:
        """Physical LPS positions (mm) of voxel indices; ``index`` is (..., 3) in (z, y, x)."""
        index = np.asarray(index, dtype=float)
        return np.asarray(self.origin) + (index * np.asarray(self.spacing)) @ self.direction_matrix.T

    def physical_to_index(self, point: np.ndarray) -> np.ndarray:
        """Continuous (z, y, x) indices of physical LPS positions (mm); ``point`` is (..., 3)."""
        offset = np.asarray(point, dtype=float) - np.asarray(self.origin)
        return (offset @ self.direction_matrix) / np.asarray(self.spacing)

    def differences(self, other: Grid) -> list[str]:
        """Human-readable list of how this grid differs from ``other`` (empty when equal)."""
        found: list[str] = []
        if self.shape != other.shape:
            found.append(f"shape (z, y, x) {self.shape} vs {other.shape}")
        if not np.allclose(self.spacing, other.spacing, rtol=0, atol=_SPACING_TOL_MM):
            found.append(f"spacing (z, y, x) mm {_fmt(self.spacing)} vs {_fmt(other.spacing)}")
        if not np.allclose(self.origin, other.origin, rtol=0, atol=_ORIGIN_TOL_MM):
            found.append(f"origin (LPS mm) {_fmt(self.origin)} vs {_fmt(other.origin)}")
        if not np.allclose(self.direction, other.direction, rtol=0, atol=_DIRECTION_TOL):
            found.append(
                f"direction {_fmt(np.ravel(self.direction))} vs {_fmt(np.ravel(other.direction))}"
            )
        return found

    def same_as(self, other: Grid) -> bool:
        """True when both grids agree within the geometry tolerances."""
        return not self.differences(other)


def _fmt(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


@dataclasses.dataclass(frozen=True, eq=False)
class Image:
    """A scalar image: float32 voxel values in (z, y, x) on a :class:`Grid`, with unit.

    ``metadata`` holds acquisition facts later stages need (manufacturer, kernel, slice
    thickness, ...) and never a patient identifier: identifying keys are rejected.
    """

    array: np.ndarray
    grid: Grid
    modality: Modality = Modality.OTHER
    unit: Unit = Unit.NONE
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.ndim != 3:
            raise InputError(f"an image array must be 3D (z, y, x), got shape {array.shape}")
        if array.dtype != np.float32:
            array = array.astype(np.float32)
        if tuple(array.shape) != self.grid.shape:
            raise GridMismatchError(
                f"image array shape {array.shape} does not match its grid shape {self.grid.shape}"
            )
        leaked = IDENTIFYING_KEYS.intersection(self.metadata)
        if leaked:
            raise InputError(f"image metadata may not hold patient identifiers: {sorted(leaked)}")
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "modality", Modality(self.modality))
        object.__setattr__(self, "unit", Unit(self.unit))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
        direction: Any = None,
        modality: Modality | str = Modality.OTHER,
        unit: Unit | str = Unit.NONE,
        metadata: Mapping[str, Any] | None = None,
    ) -> Image:
        """Build an image from an array in (z, y, x) and its geometry."""
        grid_kwargs: dict[str, Any] = {"shape": np.shape(array), "spacing": spacing, "origin": origin}
        if direction is not None:
            grid_kwargs["direction"] = direction
        return cls(np.asarray(array), Grid(**grid_kwargs), modality, unit, metadata or {})

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing (z, y, x) in mm."""
        return self.grid.spacing

    @property
    def origin(self) -> tuple[float, float, float]:
        """LPS position (mm) of the centre of voxel [0, 0, 0]."""
        return self.grid.origin

    @property
    def direction(self) -> np.ndarray:
        """3 x 3 direction matrix (column j = LPS unit vector of array axis j)."""
        return self.grid.direction_matrix

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (z, y, x)."""
        return self.grid.shape

    def with_array(self, array: np.ndarray, unit: Unit | str | None = None) -> Image:
        """A new image on the same grid with other values (and, optionally, another unit)."""
        return Image(
            np.asarray(array),
            self.grid,
            self.modality,
            self.unit if unit is None else Unit(unit),
            self.metadata,
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Mask:
    """An integer label map on a :class:`Grid` (0 = background).

    ``labels`` optionally names the codes (``{1: "right", 2: "left"}``).
    """

    array: np.ndarray
    grid: Grid
    labels: Mapping[int, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.ndim != 3:
            raise InputError(f"a mask array must be 3D (z, y, x), got shape {array.shape}")
        if array.dtype == bool:
            array = array.astype(np.uint8)
        if not np.issubdtype(array.dtype, np.integer):
            raise InputError(f"a mask must hold integer labels, got dtype {array.dtype}")
        if tuple(array.shape) != self.grid.shape:
            raise GridMismatchError(
                f"mask array shape {array.shape} does not match its grid shape {self.grid.shape}"
            )
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "labels", {int(k): str(v) for k, v in self.labels.items()})

    def binary(self, label: int | None = None) -> np.ndarray:
        """Boolean array of one label (or of every non-zero label when ``label`` is None)."""
        return self.array != 0 if label is None else self.array == label


def assert_same_grid(a: Image | Mask | Grid, b: Image | Mask | Grid, what: str = "") -> None:
    """Raise :class:`GridMismatchError` saying how two grids differ, if they do.

    ``what`` names the pair for the message, e.g. ``"mask 'lungs.nii.gz' and CT"``.
    """
    grid_a = a if isinstance(a, Grid) else a.grid
    grid_b = b if isinstance(b, Grid) else b.grid
    found = grid_a.differences(grid_b)
    if found:
        label = f"{what}: " if what else ""
        raise GridMismatchError(f"{label}grids differ: " + "; ".join(found))


def require_unit(image: Image, *units: Unit, purpose: str) -> None:
    """Raise :class:`UnitError` unless ``image`` is in one of ``units``.

    ``purpose`` says what needs the unit, e.g. ``"high-attenuation area (-600..-250 HU)"``.
    """
    if image.unit not in units:
        wanted = " or ".join(u.value for u in units)
        raise UnitError(f"{purpose} needs an image in {wanted}, got one in '{image.unit.value}'")
