"""Cohorts: DICOM tree index, manifest, labels, per-scan runner (Dask), feature store, provenance."""
