"""A computation graph as Graphviz DOT text (no graphviz program needed to write
it: `dot -Tsvg` draws it). Nodes carry their formula, shape, value and gradient;
edges go the way the values flow, each labelled with its local derivative."""

from __future__ import annotations

from typing import TextIO

from gdcli.reports.graph import GraphPicture

SHAPES = {"weight": "box", "input": "box", "loss": "doubleoctagon"}
FILLS = {"weight": "lightblue", "input": "lightgrey", "loss": "pink", "layer": "lightyellow"}


def quote(text: str) -> str:
    """A DOT string: double quotes and backslashes escaped, line breaks as `\\n`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def dot_text(picture: GraphPicture) -> str:
    lines = [
        "digraph backprop {",
        "  rankdir=LR;",
        f"  label={quote(picture.title)};",
        '  node [shape=ellipse, style=filled, fillcolor=white, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in picture.nodes:
        head = node.name if node.formula == node.name else f"{node.name} = {node.formula}"
        label = "\n".join(
            [head, f"shape {node.shape}", f"value {node.value}", f"∂l/∂{node.name} {node.grad}"]
        )
        attributes = [f"label={quote(label)}", f"fillcolor={FILLS.get(node.kind, 'white')}"]
        if node.kind in SHAPES:
            attributes.append(f"shape={SHAPES[node.kind]}")
        lines.append(f"  {quote(node.name)} [{', '.join(attributes)}];")
    for edge in picture.edges:
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} [label={quote(edge.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(picture: GraphPicture, out: TextIO) -> None:
    out.write(dot_text(picture))
