"""Reading and writing scans and masks: DICOM series (CT, PET), RTSTRUCT, SEG, NIfTI and NRRD.

* :mod:`ildrad.io.dicom_series` — ``discover_series``, ``read_ct_series`` (Image in HU),
  ``read_pet_series`` (stored values + per-slice headers for SUV).
* :mod:`ildrad.io.dicom_write` — ``write_dicom_series`` (CT/PET, classic or multi-frame).
* :mod:`ildrad.io.rtstruct` — RTSTRUCT ROIs rasterised with the voxel-centre rule.
* :mod:`ildrad.io.dicom_seg` — DICOM SEG segments on an image grid.
* :mod:`ildrad.io.masks` — ``read_masks``: one entry point over RTSTRUCT, SEG, NIfTI/NRRD.
* :mod:`ildrad.io.volume_files` — NIfTI/NRRD images and label maps; :mod:`ildrad.io.sitk_bridge`.
* :mod:`ildrad.io.dicom_geometry`, :mod:`ildrad.io.dicom_metadata`, :mod:`ildrad.io.dicom_errors`
  — DICOM plane geometry, the metadata keys kept from headers, the readers' specific errors.
"""
