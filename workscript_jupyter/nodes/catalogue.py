"""The node catalogue as documentation: ``docs/nodes.md`` is generated from the metadata.

Regenerate with ``workscript nodes --markdown > docs/nodes.md``; a test fails when it is stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..engine import SETTER, NodeMetadata

__all__ = ["catalogue_markdown"]

_HEADER = """# Node catalogue

Generated from the nodes' metadata by `workscript nodes --markdown > docs/nodes.md`; do not edit
by hand. The language is described in [workflow-language.md](workflow-language.md);
`workscript nodes --json` prints the same catalogue for tools.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _node_section(meta: NodeMetadata) -> list[str]:
    lines = [f'<a id="{_anchor(meta.id)}"></a>', "", f"## `{meta.id}` — {meta.name}", ""]
    lines += [meta.description, ""]
    lines.append(f"- category: {meta.category}; version {meta.version}")
    lines.append(f"- edges: {', '.join(f'`{e}`' for e in meta.edges) or '—'}")
    lines.append(f"- writes: {', '.join(f'`{o}`' for o in meta.outputs) or '—'}")
    lines.append("")
    if meta.inputs:
        lines += [
            "| parameter | type | required | default | description |",
            "|---|---|---|---|---|",
        ]
        for p in meta.inputs:
            default = "" if p.default is None else f"`{json.dumps(p.default)}`"
            choices = f" One of: {', '.join(p.choices)}." if p.choices else ""
            lines.append(
                f"| `{p.name}` | {_cell(p.type)} | {'yes' if p.required else ''} | "
                f"{_cell(default)} | {_cell(p.description + choices)} |"
            )
        lines.append("")
    step = dict(meta.example) if meta.id == SETTER else {meta.id: dict(meta.example)}
    example = json.dumps(step, indent=2, ensure_ascii=False)
    lines += ["```json", example, "```", ""]
    return lines


def catalogue_markdown(catalogue: Iterable[NodeMetadata]) -> str:
    nodes = sorted(catalogue, key=lambda m: (m.category, m.id))
    lines = [_HEADER]
    categories: dict[str, list[str]] = {}
    for meta in nodes:
        categories.setdefault(meta.category, []).append(meta.id)
    for category, ids in categories.items():
        lines.append(f"- **{category}**: " + ", ".join(f"[`{i}`](#{_anchor(i)})" for i in ids))
    lines.append("")
    for meta in nodes:
        lines += _node_section(meta)
    return "\n".join(lines).rstrip() + "\n"


def _anchor(node_id: str) -> str:
    return "node-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in node_id.lower())
