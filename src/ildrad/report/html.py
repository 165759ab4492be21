"""A small builder of self-contained HTML documents: sections, tables, figures as data URIs.

No external URL, script or font: the file opens offline and in a PACS viewer's browser. Figures
are matplotlib figures rendered to PNG (with no text metadata) and embedded as base64 data URIs.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

__all__ = ["Document", "Section", "figure_png", "figure_tag", "paragraph", "table_tag"]

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#1c2430;line-height:1.45;padding:0 1em}
h1{border-bottom:2px solid #2b6cb0;padding-bottom:.2em}
h2{color:#2b6cb0;margin-top:2em;border-bottom:1px solid #d5dde8}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccd6e0;padding:.25em .6em;text-align:right}
th{background:#eef3f9}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}
img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#4a5568}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:.4em .8em}
.meta{color:#4a5568;font-size:.9em}
nav ul{columns:2}
"""


def paragraph(text: str, css_class: str | None = None) -> str:
    """An escaped paragraph."""
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def figure_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes (no metadata chunks) and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def figure_tag(png: bytes, caption: str, alt: str | None = None) -> str:
    """A ``<figure>`` with the PNG embedded as a data URI."""
    encoded = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt or caption)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.{digits}f}"
    return html.escape(str(value))


def table_tag(
    frame: pd.DataFrame, digits: int = 3, table_id: str | None = None, caption: str | None = None
) -> str:
    """An HTML table of a DataFrame (floats with ``digits`` decimals)."""
    attribute = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, digits)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table{attribute}>{title}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


@dataclasses.dataclass
class Section:
    """A named section (``section_id`` is its DOM id)."""

    section_id: str
    title: str
    blocks: list[str] = dataclasses.field(default_factory=list)

    def add(self, *blocks: str) -> Section:
        """Append HTML blocks."""
        self.blocks.extend(blocks)
        return self


@dataclasses.dataclass
class Document:
    """A self-contained HTML document of sections with a table of contents."""

    title: str
    subtitle: str = ""
    sections: list[Section] = dataclasses.field(default_factory=list)

    def section(self, section_id: str, title: str, blocks: Iterable[str] = ()) -> Section:
        """Add a section and return it."""
        new = Section(section_id, title, list(blocks))
        self.sections.append(new)
        return new

    def render(self) -> str:
        """The whole document as one HTML string."""
        toc = "".join(
            f'<li><a href="#{s.section_id}">{html.escape(s.title)}</a></li>' for s in self.sections
        )
        body = "".join(
            f'<section id="{s.section_id}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
            for s in self.sections
        )
        subtitle = f'<p class="meta">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}'
            f'</title><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>{subtitle}"
            f"<nav><ul>{toc}</ul></nav>{body}</body></html>"
        )

    def write(self, path: str | Path) -> Path:
        """Write the document (UTF-8)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path


def bullet_list(items: Sequence[str]) -> str:
    """An escaped ``<ul>``."""
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
