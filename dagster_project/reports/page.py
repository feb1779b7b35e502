"""One self-contained HTML page per report: its style inline, its charts inline SVG drawn by
matplotlib with the text as paths, so it opens on a closed network exactly as it was written
(no script, style sheet, font or image from anywhere else)."""

from __future__ import annotations

import datetime as dt
import html
import io

import matplotlib

matplotlib.use("Agg")  # no screen on the hub's machines

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402

# Colours a reader with the commoner colour-vision deficiencies can tell apart (Okabe and Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
RAG = {"green": "#1a7f37", "amber": "#b35900", "red": "#b42318"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem; }
.meta { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .25rem .6rem; text-align: left; }
th { background: #f6f8fa; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #f6f8fa; border-left: 4px solid #0072B2; padding: .6rem 1rem; }
.green { color: #1a7f37; font-weight: 600; } .amber { color: #b35900; font-weight: 600; }
.red { color: #b42318; font-weight: 600; }
figure { margin: 1rem 0; } figcaption { color: #59636e; font-size: .85rem; }
svg { max-width: 100%; height: auto; }
"""


_NO_METADATA = {"Type": None, "Creator": None, "Date": None, "Format": None}


def svg(figure: plt.Figure) -> str:
    """The figure as an inline <svg> element, its text drawn as paths (no font needed), then
    closed so a report of many charts does not hold them all in memory. Without matplotlib's
    metadata block: it names two web addresses (its Dublin Core type and matplotlib.org)."""
    out = io.StringIO()
    with plt.rc_context({"svg.fonttype": "path"}):
        figure.savefig(out, format="svg", bbox_inches="tight", metadata=_NO_METADATA)
    plt.close(figure)
    text = out.getvalue()
    return text[text.index("<svg") :]


def figure(chart: str, caption: str) -> str:
    return f"<figure>{chart}<figcaption>{html.escape(caption)}</figcaption></figure>"


def table(frame: pd.DataFrame, classes: dict[str, pd.Series] | None = None) -> str:
    """A table of `frame`, numbers right-aligned; `classes` gives a column's cells a CSS class
    each (a red/amber/green rating, say)."""
    if frame.empty:
        return "<p>None.</p>"
    classes = classes or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for column, value in row.items():
            numeric = pd.api.types.is_number(value) and not isinstance(value, bool)
            css = [c for c in ["n" if numeric else ""] if c]
            if column in classes:
                css.append(str(classes[column].iloc[i]))
            shown = "" if pd.isna(value) else (f"{value:,}" if numeric else str(value))
            cells.append(f"<td class='{' '.join(css)}'>{html.escape(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, subtitle: str, body: list[str]) -> str:
    written = dt.datetime.now(dt.UTC).strftime("%d %B %Y %H:%M UTC")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='meta'>{html.escape(subtitle)}; written {written}.</p>"
        + "\n".join(body)
        + "</body></html>\n"
    )
