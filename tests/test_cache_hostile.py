"""Cache entries are data to distrust: anything odd is ignored and rebuilt, with the
same output as --no-cache, never an error, a hang or a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gdcli.compile.verify import UnsafeSource, verify

ARGS = ["descend", "(w-3)**2", "--steps", "5", "-f", "json"]


def gdcli(args, env, timeout=60):
    proc = subprocess.run(
        [sys.executable, "-m", "gdcli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def home(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), GDCLI_NO_CACHE="0")
    env.pop("GDCLI_LOSS", None)
    return tmp_path, env


@pytest.fixture
def reference(home):
    _, env = home
    code, out, _ = gdcli([*ARGS, "--no-cache"], env)
    assert code == 0 and json.loads(out)["final"]["params"]["w"] == pytest.approx(2.34464)
    return out


def the_entry(tmp_path):
    entries = list((tmp_path / "cache" / "gdcli").glob("*.json"))
    assert len(entries) == 1
    return entries[0]


def tamper(tmp_path, env, change):
    assert gdcli(ARGS, env)[0] == 0  # writes the entry
    entry = the_entry(tmp_path)
    data = json.loads(entry.read_text())
    change(data)
    entry.write_text(json.dumps(data))
    return entry


LOOP = "def value_and_grad(x0):\n    while True:\n        x0 = x0\n    return x0, (x0,)\n"
TOWER = "def value_and_grad(x0):\n    return 9**9**9**9, (x0,)\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["compiled"].update(source=LOOP),
        lambda d: d["compiled"].update(source=TOWER),
        lambda d: d["compiled"].update(shapes={"w": [10**9]}),
        lambda d: d["compiled"].update(shapes={"w": "2x2"}),
        lambda d: d["compiled"].update(variables=[{"a": 1}]),
        lambda d: d["compiled"].update(variables=[]),
        lambda d: d["compiled"].update(has_kink="yes"),
        lambda d: d["compiled"].pop("source"),
        lambda d: d.update(compiled=[1, 2, 3]),
        lambda d: d.update(compiled=None),
    ],
    ids=["while-true", "power-tower", "huge-shape", "shape-text", "variables-dicts",
         "no-variables", "kink-text", "no-source", "compiled-list", "compiled-null"],
)  # fmt: skip
def test_a_tampered_entry_is_rebuilt(home, reference, change):
    tmp_path, env = home
    tamper(tmp_path, env, change)
    code, out, err = gdcli(ARGS, env, timeout=30)
    assert (code, out, err) == (0, reference, "")


@pytest.mark.slow
def test_deeply_nested_json_is_ignored(home, reference):
    tmp_path, env = home
    assert gdcli(ARGS, env)[0] == 0
    the_entry(tmp_path).write_text("[" * 100_000 + "]" * 100_000)
    assert gdcli(ARGS, env, timeout=30) == (0, reference, "")


@pytest.mark.slow
def test_a_fifo_at_the_entrys_path_is_not_opened(home, reference):
    tmp_path, env = home
    assert gdcli(ARGS, env)[0] == 0
    entry = the_entry(tmp_path)
    entry.unlink()
    os.mkfifo(entry, 0o600)
    assert gdcli(ARGS, env, timeout=30) == (0, reference, "")


@pytest.mark.slow
def test_a_shared_cache_directory_is_made_private(home, reference):
    tmp_path, env = home
    directory = tmp_path / "cache" / "gdcli"
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    assert gdcli(ARGS, env) == (0, reference, "")
    assert directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_a_symlinked_cache_directory_is_not_used(home, reference):
    tmp_path, env = home
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "gdcli").symlink_to(elsewhere)
    assert gdcli(ARGS, env) == (0, reference, "")
    assert not list(elsewhere.iterdir())


@pytest.mark.slow
def test_no_cache_tree_without_a_home(tmp_path, reference):
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    env["GDCLI_NO_CACHE"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "gdcli", *ARGS],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, reference)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_cache_path_too_deep_is_skipped(tmp_path, reference):
    deep = tmp_path.joinpath(*["d"] * 300)
    env = dict(os.environ, XDG_CACHE_HOME=str(deep) * 7, GDCLI_NO_CACHE="0")
    assert gdcli(ARGS, env)[:2] == (0, reference)


@pytest.mark.parametrize(
    "source",
    [
        LOOP,
        TOWER,
        "def sgd(k, steps):\n    while True:\n        k = k\n",
        "def sgd(k, steps):\n    while k < steps:\n        k = k + 1\n        if k == steps:\n"
        "            return k\n",
        "def value_and_grad(x0):\n    return x0 * " + "9" * 2000 + ", (x0,)\n",
    ],
    ids=["loop", "tower", "unbounded-sgd", "other-loop-test", "huge-int"],
)
def test_verify_refuses_what_gdcli_never_generates(source):
    with pytest.raises(UnsafeSource):
        verify(source)


def test_verify_accepts_the_generated_loop():
    from gdcli.compile.codegen import build
    from gdcli.parse.expression import parse_loss

    compiled = build(parse_loss("(w - 3)**2 + sin(w)"))
    verify(compiled.source)
    assert "while True:" in compiled.source
