"""Baseline for `gdcli descend "(w-3)**2" --steps N --tol 0 --format json|csv`: a plain
Python loop over the SymPy-lambdified loss and derivative (math module), from w = 1 with
lr 0.1, writing the same rows with the standard library: the values of 16,384 steps
gathered in a list, formatted with one %-template string per chunk (%r is the shortest
round-trip text, as json and gdcli's csv write floats) and written at once.
argv: json|csv, the number of steps."""

import json
import sys

import sympy as sp

fmt, steps = sys.argv[1], int(sys.argv[2])
CHUNK = 16_384
w_ = sp.Symbol("w", real=True)
loss_expr = (w_ - 3) ** 2
loss_fn = sp.lambdify(w_, loss_expr, "math")
grad_fn = sp.lambdify(w_, sp.diff(loss_expr, w_), "math")

said = {1: "slope > 0", -1: "slope < 0", 0: "slope = 0"}
went = {1: "increases", -1: "decreases", 0: "stays"}


def direction(slope: int, update: int) -> str:
    if went[update] == went[-slope]:
        return f'"{said[slope]}, so w {went[update]}"'
    if update == 0:
        return f'"{said[slope]}, but w stays (the update is 0)"'
    return f'"{said[slope]}, but the update rule carries w {"up" if update > 0 else "down"}"'


texts = {(s, u): direction(s, u) for s in (1, -1, 0) for u in (1, -1, 0)}
out = sys.stdout
if fmt == "json":
    out.write('{\n  "expression": "(w - 3)**2",\n  "steps": [')
    row = ',\n    {"step": %d, "params": {"w": %r}, "loss": %r, "grad": {"w": %r}}'
else:
    out.write("step,w,loss,grad_w,update_w,direction\n")
    row = "%d,%r,%r,%r,%r,%s\n"
w = 1.0
loss, grad = loss_fn(w), grad_fn(w)
values: list = []
first = True
for k in range(steps):
    new = w - 0.1 * grad
    if fmt == "json":
        values += (k, w, loss, grad)
    else:
        update = new - w
        sign = (grad > 0) - (grad < 0), (update > 0) - (update < 0)
        values += (k, w, loss, grad, update, texts[sign])
    w = new
    loss, grad = loss_fn(w), grad_fn(w)
    if len(values) >= CHUNK * (4 if fmt == "json" else 6):
        text = (row * (CHUNK)) % tuple(values)
        out.write(text[1:] if first and fmt == "json" else text)
        first = False
        values.clear()
count = len(values) // (4 if fmt == "json" else 6)
text = (row * count) % tuple(values)
out.write(text[1:] if first and fmt == "json" else text)
if fmt == "json":
    last = {"step": steps, "params": {"w": w}, "loss": loss, "grad": {"w": grad}}
    out.write(",\n    " + json.dumps(last, separators=(", ", ": ")) + '\n  ],\n  "status": ')
    out.write('"max_steps"\n}\n')
else:
    out.write(f"{steps},{w!r},{loss!r},{grad!r},,\n")
