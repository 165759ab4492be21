"""ildrad: quantitative CT, PET/CT and radiomics for systemic-sclerosis interstitial lung disease."""

import os

__version__ = "0.1.0"

# Parallel numba kernels may be launched from several Python threads at once (features of
# derived images, cohort threads): only a thread-safe layer (OpenMP or TBB) allows that; numba's
# fallback "workqueue" would abort. Set before numba is imported; a user's choice wins.
os.environ.setdefault("NUMBA_THREADING_LAYER", "threadsafe")
