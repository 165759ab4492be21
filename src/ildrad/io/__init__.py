"""Reading and writing scans and masks: DICOM series (CT, PET), RTSTRUCT, SEG, NIfTI and NRRD."""
