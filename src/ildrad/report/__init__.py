"""Reports: cohort and patient HTML reports, figures, DICOM SEG/SR export."""
