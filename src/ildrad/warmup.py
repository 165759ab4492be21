"""Run at ``make install``: compile and cache JIT kernels so that the first command is fast."""

from __future__ import annotations

import importlib

#: Modules exposing ``warm_up()`` that compiles their cached numba kernels.
JIT_MODULES: tuple[str, ...] = ("ildrad.radiomics._texture_kernels", "ildrad.radiomics._morphology_kernels", "ildrad.evaluate.survival", "ildrad.radiomics.filters.recursive_gaussian", "ildrad.radiomics._moments", "ildrad.radiomics.pyradiomics_compat")


def main() -> None:
    """Call ``warm_up()`` of every module in :data:`JIT_MODULES`."""
    for name in JIT_MODULES:
        importlib.import_module(name).warm_up()


if __name__ == "__main__":
    main()
