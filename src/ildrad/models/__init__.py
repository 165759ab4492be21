"""Outcome models: radiomics and clinical models, survival models, deep models."""
