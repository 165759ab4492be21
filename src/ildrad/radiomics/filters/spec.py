"""Typed filter settings: one pydantic model per filter, a discriminated union on ``filter:``.

These are the entries of ``radiomics.image_types`` in an ildrad configuration file, e.g.::

    radiomics:
      image_types:
        - {filter: log, sigma_mm: 3.0, cutoff_sd: 4, boundary: zero, dims: 3d}
        - {filter: wavelet, wavelet: coif1, subband: HHL, level: 1, boundary: periodic}

Axis conventions follow IBSI 2: kernel and sub-band names list the axes ``x, y, z`` (NIfTI
``i, j, k``; array axes 2, 1, 0 in ildrad's ``(z, y, x)`` arrays). ``dims: 2d`` filters each
axial slice (array axis 0 index) on its own in the ``x``-``y`` plane; ``3d`` filters the volume.
Unknown keys are errors (ildrad's ``Section`` base).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ildrad.radiomics.filters.boundary import Boundary
from ildrad.radiomics.filters.separable import Pooling
from ildrad.settings_base import Section

__all__ = [
    "FilterSpec",
    "GaborSpec",
    "ImageTypeList",
    "LawsSpec",
    "LaplacianOfGaussianSpec",
    "MeanSpec",
    "SimoncelliSpec",
    "WaveletSpec",
]

Dims = Literal["2d", "3d"]

#: Laws' 1D kernel names (Laws 1980; IBSI 2 table of Laws kernels).
LAWS_NAMES = ("L3", "E3", "S3", "L5", "E5", "S5", "W5", "R5")
#: Wavelets with a tested filter bank (IBSI 2 phase 1 uses haar, db2, coif1).
WAVELET_NAMES = ("haar", "db2", "db3", "coif1")


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{value:.1f}"


class _FilterBase(Section):
    boundary: Boundary = Boundary.MIRROR
    dims: Dims = "3d"


class MeanSpec(_FilterBase):
    """Mean filter: average over a cube (3D) or square (2D) of ``support_vox`` voxels per side."""

    filter: Literal["mean"]
    support_vox: int = Field(gt=0)

    @field_validator("support_vox")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 != 1:
            raise ValueError(f"support_vox must be odd (centred window), got {value}")
        return value

    @property
    def name(self) -> str:
        """Image-type name used in feature names, e.g. ``mean_15vox``."""
        return f"mean_{self.support_vox}vox_{self.dims}"


class LaplacianOfGaussianSpec(_FilterBase):
    """Laplacian of Gaussian; ``sigma_mm`` in mm, kernel truncated at ``cutoff_sd`` sigmas."""

    filter: Literal["log"]
    sigma_mm: float = Field(gt=0)
    cutoff_sd: float = Field(default=4.0, gt=0)

    @property
    def name(self) -> str:
        """Image-type name, e.g. ``log_s3.0mm`` (``_2d`` appended for slice-wise filtering)."""
        return f"log_s{_fmt(self.sigma_mm)}mm" + ("_2d" if self.dims == "2d" else "")


class LawsSpec(_FilterBase):
    """Laws kernel (``E5L5S5``: E5 along x, L5 along y, S5 along z; two names in 2D).

    ``energy_delta_vox`` turns the response into a texture-energy map: the mean of the absolute
    response over a window of ``2 * delta + 1`` voxels per axis, taken after rotation pooling.
    """

    filter: Literal["laws"]
    kernel: str
    rotation_invariance: bool = False
    pooling: Pooling = Pooling.MAX
    energy_delta_vox: int | None = Field(default=None, ge=0)

    @property
    def kernel_names(self) -> tuple[str, ...]:
        """The 1D kernel names in x, y, z order."""
        return tuple(re.findall(r"[A-Z]\d", self.kernel.upper()))

    @model_validator(mode="after")
    def _check_kernel(self) -> LawsSpec:
        names = self.kernel_names
        wanted = 2 if self.dims == "2d" else 3
        if (
            "".join(names) != self.kernel.upper()
            or len(names) != wanted
            or not set(names) <= set(LAWS_NAMES)
        ):
            raise ValueError(
                f"kernel '{self.kernel}' must be {wanted} Laws kernels for dims {self.dims} "
                f"(from {', '.join(LAWS_NAMES)}), e.g. 'E5L5S5' in 3d or 'L5S5' in 2d"
            )
        return self

    @property
    def name(self) -> str:
        """Image-type name, e.g. ``laws_E5L5S5_invmax_energy7``."""
        parts = ["laws", self.kernel.upper()]
        if self.rotation_invariance:
            parts.append(f"inv{self.pooling.value}")
        if self.energy_delta_vox is not None:
            parts.append(f"energy{self.energy_delta_vox}")
        return "_".join(parts)


class GaborSpec(_FilterBase):
    """Gabor filter (modulus of the complex response); sigma and lambda in mm, angles in degrees.

    ``dims: 2d`` filters in the axial (x-y) plane; ``3d`` applies the same 2D filter in the three
    orthogonal planes and pools the maps (IBSI 2). With ``rotation_invariance`` the orientations
    ``theta_deg + n * theta_step_deg`` covering a full turn are pooled as well. ``support_vox``
    is the in-plane kernel size; by default the larger in-plane image size, rounded up to odd.
    """

    filter: Literal["gabor"]
    sigma_mm: float = Field(gt=0)
    lambda_mm: float = Field(gt=0)
    gamma: float = Field(gt=0)
    theta_deg: float = 0.0
    rotation_invariance: bool = False
    theta_step_deg: float | None = Field(default=None, gt=0, le=360)
    pooling: Pooling = Pooling.MEAN
    support_vox: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> GaborSpec:
        if self.rotation_invariance and self.theta_step_deg is None:
            raise ValueError("rotation_invariance needs theta_step_deg (e.g. 45)")
        if not self.rotation_invariance and self.theta_step_deg is not None:
            raise ValueError("theta_step_deg is only used with rotation_invariance: true")
        if self.support_vox is not None and self.support_vox % 2 != 1:
            raise ValueError(f"support_vox must be odd, got {self.support_vox}")
        return self

    @property
    def thetas_deg(self) -> tuple[float, ...]:
        """Orientations pooled (degrees)."""
        if not self.rotation_invariance:
            return (self.theta_deg,)
        count = max(1, round(360.0 / self.theta_step_deg))
        return tuple(self.theta_deg + n * self.theta_step_deg for n in range(count))

    @property
    def name(self) -> str:
        """Image-type name, e.g. ``gabor_s10.0mm_l4.0mm_g0.5_t60.0`` (``_inv..`` when pooled)."""
        base = f"gabor_s{_fmt(self.sigma_mm)}mm_l{_fmt(self.lambda_mm)}mm_g{_fmt(self.gamma)}"
        if self.rotation_invariance:
            base += f"_tstep{_fmt(self.theta_step_deg)}_inv{self.pooling.value}"
        else:
            base += f"_t{_fmt(self.theta_deg)}"
        return base + ("_3d" if self.dims == "3d" else "")


class WaveletSpec(_FilterBase):
    """Undecimated separable wavelet (à trous); ``subband`` letters for x, y, z (``LHL``)."""

    filter: Literal["wavelet"]
    wavelet: Literal["haar", "db2", "db3", "coif1"]
    subband: str
    level: int = Field(default=1, ge=1)
    rotation_invariance: bool = False
    pooling: Pooling = Pooling.MEAN

    @model_validator(mode="after")
    def _check_subband(self) -> WaveletSpec:
        wanted = 2 if self.dims == "2d" else 3
        band = self.subband.upper()
        if len(band) != wanted or set(band) - {"L", "H"}:
            raise ValueError(
                f"subband '{self.subband}' must be {wanted} letters L/H (x, y, z order) "
                f"for dims {self.dims}"
            )
        return self

    @property
    def name(self) -> str:
        """Image-type name, e.g. ``wavelet_coif1_HHL_l1`` (``_invmean`` when pooled)."""
        name = f"wavelet_{self.wavelet}_{self.subband.upper()}_l{self.level}"
        return name + (f"_inv{self.pooling.value}" if self.rotation_invariance else "")


class SimoncelliSpec(_FilterBase):
    """Simoncelli non-separable isotropic wavelet (defined in the Fourier domain; periodic)."""

    filter: Literal["simoncelli"]
    boundary: Boundary = Boundary.PERIODIC
    level: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _periodic(self) -> SimoncelliSpec:
        if self.boundary is not Boundary.PERIODIC:
            raise ValueError(
                "the Simoncelli wavelet is applied in the Fourier domain: boundary must be periodic"
            )
        return self

    @property
    def name(self) -> str:
        """Image-type name, e.g. ``simoncelli_l1``."""
        return f"simoncelli_l{self.level}" + ("_2d" if self.dims == "2d" else "")


#: One filter's settings; the ``filter`` key selects the model.
FilterSpec = Annotated[
    MeanSpec | LaplacianOfGaussianSpec | LawsSpec | GaborSpec | WaveletSpec | SimoncelliSpec,
    Field(discriminator="filter"),
]

#: The ``radiomics.image_types`` list.
ImageTypeList = list[FilterSpec]
