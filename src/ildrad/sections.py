"""Index of the configuration sections; each is defined beside the stage that reads it."""

from ildrad.cohort.settings import RunSettings
from ildrad.io.settings import IoSettings
from ildrad.lung.settings import SegmentSettings
from ildrad.models.settings import DeepSettings, ModelsSettings
from ildrad.pet.settings import PetSettings
from ildrad.radiomics.settings import RadiomicsSettings
from ildrad.report.settings import ReportSettings

__all__ = [
    "DeepSettings",
    "IoSettings",
    "ModelsSettings",
    "PetSettings",
    "RadiomicsSettings",
    "ReportSettings",
    "RunSettings",
    "SegmentSettings",
]
