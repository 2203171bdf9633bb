"""Write gdcli's example training data (seeded: the same files every time).

    python examples/make_examples.py [DIRECTORY]    (default: this script's folder)

- line.csv: a line fit. 24 examples (x, y) with y = 2x + 1 plus a little noise, for
  the loss `(w*x + b - y)**2` (gdcli finds w near 2 and b near 1).
- classes.csv: a small classification. 30 points (x1, x2) in three clusters of 10,
  each labelled one-hot (t1, t2, t3), for a layer with a matrix of weights:
  `-sum(t*log(softmax(W @ x + b)))` with `--vector x=x1,x2 --vector t=t1,t2,t3`.

Only NumPy (numpy.random.default_rng) and the standard library.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numpy.random import Generator

SEED = 11


def line(rng: Generator) -> str:
    import numpy as np

    x = np.round(rng.uniform(-3, 3, size=24), 2) + 0.0  # no -0
    y = np.round(2 * x + 1 + rng.normal(0, 0.5, size=24), 3)
    return "x,y\n" + "".join(f"{a:g},{b:g}\n" for a, b in zip(x, y, strict=True))


def classes(rng: Generator) -> str:
    import numpy as np

    centres = [(0.0, 2.0), (-2.0, -1.0), (2.0, -1.0)]
    rows = []
    for label, (cx, cy) in enumerate(centres):
        points = np.round(rng.normal((cx, cy), 0.7, size=(10, 2)), 2) + 0.0
        for x1, x2 in points:
            onehot = [1 if k == label else 0 for k in range(3)]
            rows.append(f"{x1:g},{x2:g},{onehot[0]},{onehot[1]},{onehot[2]}\n")
    order = rng.permutation(len(rows))  # the classes mixed, as data come
    return "x1,x2,t1,t2,t3\n" + "".join(rows[k] for k in order)


def main(folder: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "line.csv").write_text(line(rng), encoding="utf-8")
    (folder / "classes.csv").write_text(classes(rng), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
