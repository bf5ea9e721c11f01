"""docs/protocol.md's tables, generated from the protocol models so the document cannot go stale.

``python -m server.session.protocol.docs`` rewrites the generated parts of docs/protocol.md (between
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``); ``--check`` exits 1 when the file differs. The
test suite runs the check.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import re
import sys
import types
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from server.session.protocol.client import CLIENT_MESSAGES
from server.session.protocol.counselor import COUNSELOR_EVENTS
from server.session.protocol.server import PUBLIC_MESSAGES, CounselorChannel

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.DOTALL)


def type_name(annotation: Any, seen: set[type] | None = None) -> str:
    """A short, readable form of a field's type; nested models and dataclasses are collected in ``seen``."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return type_name(get_args(annotation)[0], seen)
    if origin is Literal:
        return " / ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(parts) < len(get_args(annotation))
        text = " or ".join(type_name(p, seen) for p in parts)
        return f"{text} or null" if optional else text
    if origin in (list, tuple, set, frozenset):
        inner = [a for a in get_args(annotation) if a is not Ellipsis]
        return f"list of {type_name(inner[0], seen)}" if inner else "list"
    if origin is dict:
        key, value = get_args(annotation)
        return f"{{{type_name(key, seen)}: {type_name(value, seen)}}}"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return " / ".join(f"`{member.value}`" for member in annotation)
        if issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation):
            if seen is not None:
                seen.add(annotation)
            return f"{annotation.__name__}"
        return {str: "str", int: "int", float: "number", bool: "bool"}.get(annotation, annotation.__name__)
    return "any"


def _fields(model: type[Any], tag: str | None) -> Iterator[tuple[str, Any, bool, str]]:
    """(wire name, annotation, required, description) of a pydantic model's or a dataclass's fields,
    without the ``tag`` field that names the message (shown in its own column)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, info in model.model_fields.items():
            if name == tag:
                continue
            yield _wire_name(name, info), info.annotation, info.is_required(), info.description or ""
    else:
        hints = typing.get_type_hints(model)
        for f in dataclasses.fields(model):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            yield f.name, hints[f.name], required, ""


def _wire_name(name: str, info: FieldInfo) -> str:
    return info.serialization_alias or info.alias or name


def fields_text(model: type[Any], seen: set[type], tag: str | None = None) -> str:
    parts = []
    for name, annotation, required, description in _fields(model, tag):
        mark = "" if required else "?"
        note = f" ({description})" if description else ""
        parts.append(f"`{name}`{mark}: {type_name(annotation, seen)}{note}")
    return ", ".join(parts) or "none"


def _tag(model: type[BaseModel], field: str) -> str:
    return str(get_args(model.model_fields[field].annotation)[0])


def _doc(model: type[Any]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "`")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _table(
    columns: tuple[str, str, str, str], rows: Iterable[tuple[type[Any], str]], tag: str, seen: set[type]
) -> str:
    """One row per model: its tag value, its fields, who or when, and its doc."""
    lines = [_row(*columns), _row("---", "---", "---", "---")]
    for model, who in rows:
        lines.append(_row(f"`{_tag(model, tag)}`", fields_text(model, seen, tag), who, _doc(model)))
    return "\n".join(lines)


def client_table(seen: set[type]) -> str:
    rows = [(m, m.sender) for m in CLIENT_MESSAGES]
    return _table(("type", "fields", "who", "meaning"), rows, "type", seen)


def server_table(seen: set[type]) -> str:
    rows: list[tuple[type[Any], str]] = [(m, m.recipients) for m in PUBLIC_MESSAGES]
    rows.append((CounselorChannel, CounselorChannel.recipients))
    return _table(("type", "fields", "to", "meaning"), rows, "type", seen)


def counselor_table(seen: set[type]) -> str:
    rows = [(m, m.cadence) for m in COUNSELOR_EVENTS]
    return _table(("kind", "fields", "when", "meaning"), rows, "kind", seen)


def shapes_table(shapes: set[type]) -> str:
    """Every nested shape, and the shapes nested in those."""
    lines = []
    done: set[type] = set()
    while pending := sorted(shapes - done, key=lambda t: t.__name__):
        for shape in pending:
            done.add(shape)
            lines.append(_row(shape.__name__, fields_text(shape, shapes)))
    return "\n".join([_row("shape", "fields"), _row("---", "---"), *sorted(lines)])


def render_blocks() -> dict[str, str]:
    seen: set[type] = set()
    tables = {
        "client-messages": client_table(seen),
        "server-messages": server_table(seen),
        "counselor-events": counselor_table(seen),
    }
    tables["shapes"] = shapes_table(seen - set(COUNSELOR_EVENTS))
    return tables


def render(document: str, blocks: dict[str, str]) -> str:
    missing = set(blocks) - {m.group("name") for m in _BLOCK.finditer(document)}
    if missing:
        raise ValueError(f"docs/protocol.md has no generated block named {sorted(missing)}")
    return _BLOCK.sub(lambda m: f"{m.group(1)}{blocks[m.group('name')]}\n{m.group(4)}", document)


def stale_blocks(document: str, blocks: dict[str, str]) -> Iterable[str]:
    current = {m.group("name"): m.group("body") for m in _BLOCK.finditer(document)}
    return [name for name, body in blocks.items() if current.get(name) != body + "\n"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the tables of docs/protocol.md from the models.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/protocol.md is out of date")
    args = parser.parse_args(argv)
    document = DOC.read_text(encoding="utf-8")
    blocks = render_blocks()
    if args.check:
        stale = list(stale_blocks(document, blocks))
        if stale:
            print(f"docs/protocol.md is out of date ({', '.join(stale)}): run python -m server.session.protocol.docs")
            return 1
        return 0
    DOC.write_text(render(document, blocks), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
