"""Lungs: segmentation, left/right split, zones, quantitative CT, SSc markers, staging."""
