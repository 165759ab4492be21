"""PET: SUV conversion, PET-to-CT alignment, lung PET metrics."""
