"""The README's Python examples run as written (one namespace, in order)."""

import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_blocks():
    with open(README) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_readme_has_the_two_commands_first():
    with open(README) as f:
        text = f.read()
    first_block = re.search(r"```\n(.*?)```", text, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, README, "exec"), namespace)  # noqa: S102 - our own README.


def test_readme_pictures_exist():
    with open(README) as f:
        pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", f.read())
    assert pictures, "the README shows sample grids"
    root = os.path.dirname(README)
    for picture in pictures:
        assert os.path.isfile(os.path.join(root, picture)), picture


def test_readme_preset_table_names_real_presets():
    import pixel_rnn_tf as prt

    with open(README) as f:
        table = f.read().split("## The presets")[1]
    named = re.findall(r"^\| `(\w+)`", table, flags=re.M)
    assert len(named) >= 8
    assert set(named) <= set(prt.configs.names())
