"""IBSI radiomics: image processing, one module per feature family, extractor and names."""
