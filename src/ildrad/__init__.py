"""ildrad: quantitative CT, PET/CT and radiomics for systemic-sclerosis interstitial lung disease."""

__version__ = "0.1.0"
