"""Decoding of report and export files layer by layer for the identifier scan (test helper)."""

from __future__ import annotations

from pathlib import Path


def decoded_copy(folder: Path, dest: Path) -> set[str]:
    """A copy of ``folder`` with each layer decoded into its own file, for the identifier scan.

    HTML: the text without its data URIs, and each data URI decoded to a file (a base64 payload
    searched as text matches short name parts by chance). DICOM: every element value but the UIDs
    as text; the UIDs are returned, for the caller to compare whole with the identifiers (a UID
    may contain a 5-digit ID by chance). Other files are copied. Known false positive: the
    synthetic surname "Meier" is part of "Kaplan-Meier", which is removed from the HTML text.
    """
    import base64
    import re
    import shutil

    import pydicom

    dest.mkdir(parents=True, exist_ok=True)
    uids: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = dest / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            for number, match in enumerate(
                re.finditer(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
            ):
                target.with_name(f"{path.stem}_{number}.png").write_bytes(
                    base64.b64decode(match.group(1))
                )
            text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
            target.with_suffix(".txt").write_text(re.sub("Kaplan-Meier", "", text, flags=re.I))
        elif path.suffix == ".dcm":
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            elements = [e for e in ds.iterall() if e.VR not in ("OB", "OW", "OF", "OD", "UN", "SQ")]
            target.with_suffix(".txt").write_text(
                "\n".join(str(e.value) for e in elements if e.VR != "UI")
            )
            uids.update(str(e.value) for e in elements if e.VR == "UI")
        else:
            shutil.copy(path, target)
    return uids
