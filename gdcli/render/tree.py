"""A computation graph as a Rich tree, the loss at the root: every node with its
formula, value and gradient, its arguments below it. A node that feeds several
others (a reused node) is drawn in full once; later it is named and marked."""

from __future__ import annotations

from typing import TextIO

from gdcli.render.terminal import Terminal
from gdcli.reports.graph import GraphPicture

STYLES = {"weight": "bold cyan", "input": "green", "loss": "bold magenta", "layer": "bold"}


def write_tree(picture: GraphPicture, term: Terminal, out: TextIO) -> None:
    from rich.text import Text
    from rich.tree import Tree

    nodes = {n.name: n for n in picture.nodes}
    drawn: set[str] = set()

    def label(name: str, again: bool) -> Text:
        node = nodes[name]
        text = Text()
        head = name if node.formula == name else f"{name} = {node.formula}"
        text.append(head, style=STYLES.get(node.kind, ""))
        if again:
            text.append("  (shown above)", style="dim")
            return text
        kind = f" {node.kind}" if node.kind in ("weight", "input") else ""
        text.append(f"  [{node.shape}{kind}]", style="dim")
        text.append(f"  value {node.value}")
        text.append(f"  ∂l/∂{name} {node.grad}", style="yellow")
        return text

    def grow(branch: Tree, name: str) -> None:
        for arg in nodes[name].args:
            again = arg in drawn
            child = branch.add(label(arg, again))
            if not again:
                drawn.add(arg)
                grow(child, arg)

    root = Tree(label(picture.root, False), guide_style="dim")
    drawn.add(picture.root)
    grow(root, picture.root)
    console = term.console(out)
    console.print(Text(f"the graph, from the loss to the weights and inputs ({picture.title})"))
    console.print(root)
