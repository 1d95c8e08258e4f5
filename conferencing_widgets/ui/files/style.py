"""The file feature's widget CSS (upload entry and viewer), shared by both anywidgets."""

from __future__ import annotations

FILES_CSS = """
.cw-upload-root { display: inline-flex; flex-direction: column; gap: 4px; max-width: 100%; }
.cw-upload-list:empty { display: none; }
.cw-upload-item { display: grid; grid-template-columns: minmax(80px, 220px) 120px auto auto; gap: 6px;
  align-items: center; font-size: var(--jp-ui-font-size1, 13px); }
.cw-upload-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; unicode-bidi: isolate; }
.cw-upload-error, .cw-upload-note { grid-column: 1 / -1; white-space: normal; }
.cw-viewer-root { border: 1px solid var(--jp-border-color1, #bbb); border-radius: 6px; padding: 6px;
  margin: 4px 0; background: var(--jp-layout-color1, #fff); max-height: 60vh; overflow: auto; }
.cw-viewer-head { display: flex; gap: 8px; align-items: center; }
.cw-viewer-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; flex: 1;
  unicode-bidi: isolate; }
.cw-viewer-image { max-width: 100%; max-height: 50vh; display: block; margin-top: 6px; }
.cw-viewer-pdf { width: 100%; height: 50vh; border: none; margin-top: 6px; }
.cw-viewer-video { max-width: 100%; max-height: 50vh; margin-top: 6px; }
.cw-viewer-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 40vh; overflow: auto;
  background: var(--jp-layout-color2, #f3f3f3); padding: 6px; font-size: var(--jp-code-font-size, 12px); }
.cw-table-preview { margin-top: 6px; display: flex; flex-direction: column; gap: 4px; }
.cw-table-figure { margin: 2px 0; }
/* Its own white card with dark ink (made on the server), legible in the light and the dark theme alike. */
.cw-table-plot { display: block; width: 480px; max-width: 100%; height: auto; background: #fff; border-radius: 4px;
  border: 1px solid var(--jp-border-color2, #ddd); }
.cw-table-columns-title { font-weight: 600; }
.cw-table-columns { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 2px 14px; }
.cw-table-colname { font-weight: 600; unicode-bidi: isolate; }
.cw-table-coltype { color: var(--jp-ui-font-color2, #555); }
.cw-table-scroll { overflow: auto; max-height: 40vh; border: 1px solid var(--jp-border-color2, #ddd); }
.cw-table { border-collapse: collapse; font-size: var(--jp-code-font-size, 12px);
  color: var(--jp-ui-font-color1, #222); }
.cw-table th, .cw-table td { border: 1px solid var(--jp-border-color2, #ddd); padding: 2px 6px; text-align: left;
  white-space: nowrap; max-width: 24em; overflow: hidden; text-overflow: ellipsis; unicode-bidi: isolate; }
.cw-table th { position: sticky; top: 0; background: var(--jp-layout-color2, #eee); }
.cw-table td.cw-num { text-align: right; font-variant-numeric: tabular-nums; }
"""

__all__ = ["FILES_CSS"]
