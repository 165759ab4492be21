"""Evaluation of outcome models: metric vocabulary, bootstrap CIs, DeLong, calibration, decision curves."""
