"""Baseline for `gdcli descend "mean((tanh(W2 @ tanh(W1 @ x)) - y)**2)"` with W1, W2 of
50x50: the same plain gradient descent with the gradient written by hand (backprop in
closed form) in NumPy. argv: the number of steps."""

import sys

import numpy as np

n = 50
x = np.array([round(0.1 * (i % 7 - 3), 2) for i in range(n)])
y = x.copy()
W1 = np.full((n, n), 0.01)
W2 = np.full((n, n), 0.02)
lr = 0.5
for _ in range(int(sys.argv[1])):
    h = np.tanh(W1 @ x)
    o = np.tanh(W2 @ h)
    e = o - y
    g2 = (2 / n) * e * (1 - o * o)
    g1 = (W2.T @ g2) * (1 - h * h)
    W2 = W2 - lr * np.outer(g2, h)
    W1 = W1 - lr * np.outer(g1, x)
h = np.tanh(W1 @ x)
print(repr(float(np.mean((np.tanh(W2 @ h) - y) ** 2))))
