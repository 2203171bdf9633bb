"""Baseline: a minimal Typer app, two commands with one option each."""

import typer

app = typer.Typer()


@app.command()
def a(x: int = 0) -> None:
    print(x)


@app.command()
def b(y: int = 0) -> None:
    print(y)


if __name__ == "__main__":
    app()
