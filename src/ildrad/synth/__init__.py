"""Synthetic SSc-ILD chest CT / PET phantoms and cohorts with known truth."""
