"""How the package is built, as the README's layout promises: one module owns each file format."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rxviz"


def test_only_card_py_reads_or_writes_the_model_card_json():
    touching = re.compile(r"(CARD_FILE|model_card\.json).*\.(read_text|write_text|open)\(|json\.(loads?|dumps?)\(.*card")
    offenders = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
                 for path in PACKAGE.rglob("*.py") if path.name != "card.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if touching.search(line) and "print(" not in line]
    assert offenders == []


def test_each_committed_model_card_is_what_its_json_renders():
    """MODEL_CARD.md is rendered from model_card.json by one table renderer (card.target_table)
    for both cards: the committed pages must not drift from their figures."""
    from rxviz.card import DEFAULT_MODEL_DIR, read_card
    from rxviz.training.evaluate import render_card
    from rxviz.training.lungs.evaluate import render_lung_card

    for folder, render in ((DEFAULT_MODEL_DIR, render_card), (DEFAULT_MODEL_DIR / "lungs", render_lung_card)):
        assert render(read_card(folder)) == (folder / "MODEL_CARD.md").read_text(), folder


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """The rxviz modules ``path`` imports, anywhere in it (a function's lazy import counts)."""
    import ast

    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("rxviz"))
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            if name.startswith("rxviz"):
                modules = {f"{name}.{a.name}" for a in node.names if _is_module(f"{name}.{a.name}")}
                found |= modules if len(modules) == len(node.names) else modules | {name}
    return found


#: What makes model folders outside rxviz.training, and so may import it: the commands, and
#: wrap_model (a researcher's model, written with the same ONNX export and card).
MAKERS = {"rxviz.cli", "rxviz.wrap"}


def test_nothing_that_answers_with_a_model_imports_the_training_code():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if module.startswith("rxviz.training") or module in MAKERS:
            continue
        offenders += [f"{module} imports {name}" for name in _imports(path) if name.startswith("rxviz.training")]
    assert offenders == []


def test_the_package_has_no_circle_of_imports():
    """Data flows one way: no module reaches itself through what it imports (lazy imports too)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[module] = {name for name in _imports(path) if name != module}
    graph = {m: {n for n in deps if n in graph} for m, deps in graph.items()}
    # a package's __init__ re-exporting its own modules is not a circle of the modules themselves
    edges = {m: {n for n in deps if not (m.startswith(n + ".") and n.count(".") >= 1)} for m, deps in graph.items()}
    circles, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join(stack[stack.index(target):] + [module, target]) if target in stack else f"{module} -> {target}")
            elif target not in state:
                visit(target, stack + [module])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert circles == [], "\n".join(circles)
