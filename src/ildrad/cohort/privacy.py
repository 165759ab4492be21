"""Scan a workspace or export folder for patient identifiers, after decoding every file.

Identifiers are the identifying header values met while indexing (``private/identifiers.parquet``:
names, IDs, birth dates, accession numbers, institutions, physicians) plus any the caller adds.
Each file outside ``private/`` is decoded before searching: Parquet through pyarrow (every cell
and the schema metadata), gzip (decompressed, then decoded again: ``.nii.gz``), NIfTI headers
(descrip, aux_file, intent name, extensions), PNG text chunks, HTML (text, and every base64 data
URI decoded and scanned in turn), DICOM (every element value), and any other file as text.
Birth dates are also searched as ``YYYY-MM-DD``; person names by their full form and by each
component of four letters or more. Numbers (Parquet numeric columns) and DICOM UIDs are compared
whole, base64 payloads only after decoding, and report phrases that contain surnames
("Kaplan-Meier") are removed first, so that chance digit runs and words are not reported.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from ildrad.cohort.index import PRIVATE_IDENTIFIERS
from ildrad.cohort.keys import PRIVATE_DIR

__all__ = ["IdentifierFinding", "identifier_terms", "scan_for_identifiers"]

_DATA_URI = re.compile(rb"data:[\w/+.-]+;base64,([A-Za-z0-9+/=\s]+)")
_NAME_KEYS = {"PatientName", "OtherPatientNames", "ReferringPhysicianName", "PerformingPhysicianName",
              "OperatorsName", "PhysiciansOfRecord"}
_MIN_COMPONENT = 4
_NUMERIC_MARK = b"\x00numbers\n"
#: Phrases of reports that contain common surnames (a patient called Meier is not in
#: "Kaplan-Meier"); removed from text before searching.
_COMMON_PHRASES = re.compile(rb"kaplan[-\xe2\x80\x93 ]+meier", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class IdentifierFinding:
    """An identifier found in a file (``where`` says which decoded part)."""

    path: str
    where: str
    term: str


def identifier_terms(workspace: str | Path, extra: Iterable[str] = ()) -> set[str]:
    """The strings to search for: the workspace's identifying values and their variants."""
    terms = {str(t) for t in extra if str(t).strip()}
    path = Path(workspace) / PRIVATE_DIR / PRIVATE_IDENTIFIERS
    if path.is_file():
        for keyword, value in pd.read_parquet(path).itertuples(index=False):
            terms.add(value)
            if keyword in _NAME_KEYS:
                terms.update(p for p in re.split(r"[\^\s,]+", value) if len(p) >= _MIN_COMPONENT)
            if keyword == "PatientBirthDate" and re.fullmatch(r"\d{8}", value):
                terms.add(f"{value[:4]}-{value[4:6]}-{value[6:]}")
    return {t for t in terms if len(t.strip()) >= 3}


def _decoded_parts(path: Path, data: bytes) -> Iterator[tuple[str, bytes]]:
    """(description, bytes) of every decoded layer of a file."""
    name = path.name.lower()
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError):
            yield "raw", data
            return
        yield from _decoded_parts(Path(name[:-3] if name.endswith(".gz") else name + ".raw"), inner)
        return
    if data[:4] == b"PAR1":
        yield from _parquet_parts(path)
        return
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        yield from _png_text(data)
        return
    if name.endswith(".nii") or data[344:348] in (b"n+1\x00", b"ni1\x00"):
        yield "nifti header", data[:352]
        yield "nifti extensions", data[348:min(len(data), 352 + 65536)]
        return
    if len(data) > 132 and data[128:132] == b"DICM":
        yield from _dicom_parts(path)
        return
    yield "text", _DATA_URI.sub(b"data:;base64,", _COMMON_PHRASES.sub(b" ", data))
    for match in _DATA_URI.finditer(data):
        try:
            decoded = base64.b64decode(re.sub(rb"\s", b"", match.group(1)))
        except (ValueError, base64.binascii.Error):
            continue
        for where, part in _decoded_parts(Path("embedded"), decoded):
            yield f"base64 data URI / {where}", part


def _parquet_parts(path: Path) -> Iterator[tuple[str, bytes]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if table.schema.metadata:
        yield "parquet schema metadata", b" ".join(k + b"=" + v for k, v in table.schema.metadata.items())
    yield "parquet column names", " ".join(table.column_names).encode()
    for column in table.column_names:
        values = table.column(column).to_pylist()
        if all(isinstance(v, int | float) or v is None for v in values):
            # numbers are compared whole (an ID stored as a number), not as digit substrings of
            # measurements (a volume of 1234.681250 mL is not patient 681250)
            tokens = {_number_token(v) for v in values if v is not None}
            yield f"parquet column {column}", _NUMERIC_MARK + ("\n".join(sorted(tokens)) + "\n").encode()
        else:
            yield f"parquet column {column}", "\n".join(map(str, values)).encode(errors="replace")


def _number_token(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _png_text(data: bytes) -> Iterator[tuple[str, bytes]]:
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"tEXt":
            yield "png tEXt", body
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\x00")
            yield "png zTXt", key + b" " + zlib.decompress(rest[1:])
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            compressed = rest[:1] == b"\x01"
            text = rest[2:].split(b"\x00", 2)[-1]
            yield "png iTXt", key + b" " + (zlib.decompress(text) if compressed else text)
        position += 12 + length


def _dicom_parts(path: Path) -> Iterator[tuple[str, bytes]]:
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    values, uids = [], set()
    for element in ds.iterall():
        if element.VR == "UI":  # UIDs hold digit runs: compared whole, like numbers
            uids.add(str(element.value))
        elif element.VR not in ("OB", "OW", "OF", "OD", "UN", "SQ"):
            values.append(str(element.value))
    yield "dicom elements", "\n".join(values).encode(errors="replace")
    yield "dicom UIDs", _NUMERIC_MARK + ("\n".join(sorted(uids)) + "\n").encode()


def scan_for_identifiers(folder: str | Path, terms: Iterable[str]) -> list[IdentifierFinding]:
    """Findings of any ``terms`` in the decoded files under ``folder`` (``private/`` skipped)."""
    folder = Path(folder)
    needles = [(t, t.lower().encode()) for t in sorted(set(terms))]
    findings: list[IdentifierFinding] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if relative.parts and relative.parts[0] == PRIVATE_DIR:
            continue
        for where, part in _decoded_parts(path, path.read_bytes()):
            lowered = part.lower()
            if lowered.startswith(_NUMERIC_MARK):  # whole numbers only
                found = (t for t, needle in needles if b"\n" + needle + b"\n" in lowered)
            else:
                found = (t for t, needle in needles if needle in lowered)
            findings.extend(IdentifierFinding(str(relative), where, term) for term in found)
    return findings
