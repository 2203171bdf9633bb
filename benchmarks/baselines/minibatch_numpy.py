"""Baseline for `gdcli descend "(dot(w, x) + b - y)**2" --data FILE.csv --vector
x=x1,...,x10 --start w=0,b=0 --shape w=10 --batch-size 64 --epochs 1 --lr LR --quiet`:
the same mini-batch SGD written by hand in NumPy, imports and CSV reading included.

argv: the CSV file (a header x1..x10,y), the lr, the epochs. Shuffled as gdcli documents
it: numpy.random.default_rng(0), one permutation per epoch, batches of 64 in that order
(the last one smaller). Prints the final b, w and the mean loss over every example."""

import sys

import numpy as np

path, lr, epochs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
X, y = data[:, :10], data[:, 10]
n = len(y)
w, b = np.zeros(10), 0.0
rng = np.random.default_rng(0)
for _ in range(epochs):
    order = rng.permutation(n)
    for lo in range(0, n, 64):
        idx = order[lo : lo + 64]
        r = X[idx] @ w + b - y[idx]
        w = w - lr * (2 / len(idx)) * (r @ X[idx])
        b = b - lr * (2 / len(idx)) * r.sum()
r = X @ w + b - y
print(" ".join(repr(float(v)) for v in [b, *w, np.mean(r * r)]))
