"""What an amendment changes: the differences between two versions of an application, field by
field, named the way the lifecycle rules (mappings/lifecycle.toml) name them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from gateway.domain.application import Application, GoodsItem, Party, Transport


@dataclass(frozen=True)
class Change:
    field: str  # "transport.plate", "item.quantity", "item" (added or removed), "consignor", ...
    before: str | None
    after: str | None
    item_line: int | None = None  # the goods item's line, for item fields

    def sentence(self) -> str:
        where = f"item {self.item_line} " if self.item_line is not None else ""
        if self.field == "item":
            return f"{where}{'added' if self.before is None else 'removed'}"
        return f"{where}{self.field}: {self.before} -> {self.after}"


def _party(party: Party) -> str:
    return f"{party.name} ({party.country}{', BIN ' + str(party.bin) if party.bin else ''})"


def _show(value: object) -> str:
    return _party(value) if isinstance(value, Party) else str(value)


def _fields(old: object, new: object, prefix: str, line: int | None = None) -> Iterable[Change]:
    for f in fields(old):  # type: ignore[arg-type]
        if f.name == "line":
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            yield Change(f"{prefix}.{f.name}", _show(before), _show(after), line)


def _item_summary(item: GoodsItem) -> str:
    return f"{item.hs_code} {item.description} {item.quantity} {item.unit}"


def diff(old: Application, new: Application) -> tuple[Change, ...]:
    """Every difference between `old` and `new`, in a stable order. The declarant and the trader
    reference are the application's identity: a change of either is reported too, and the rules
    never allow it."""
    changes: list[Change] = []
    for name in ("declarant", "trader_reference", "procedure"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(Change(name, str(before), str(after)))
    for name in ("consignor", "consignee"):
        if getattr(old, name) != getattr(new, name):
            changes.append(Change(name, _party(getattr(old, name)), _party(getattr(new, name))))
    changes.extend(_transport(old.transport, new.transport))
    old_items = {i.line: i for i in old.items}
    new_items = {i.line: i for i in new.items}
    for line in sorted(old_items.keys() | new_items.keys()):
        before, after = old_items.get(line), new_items.get(line)
        if before is None and after is not None:
            changes.append(Change("item", None, _item_summary(after), line))
        elif after is None and before is not None:
            changes.append(Change("item", _item_summary(before), None, line))
        elif before is not None and after is not None:
            changes.extend(_fields(before, after, "item", line))
    # A document added, removed or renumbered, or an attachment whose digest changed (another
    # file: to be uploaded, docs/attachments.md) is a change of "documents": the agencies whose
    # rules re-check documents are asked again, and those that want the new bytes wait for them.
    before_docs, after_docs = _documents(old), _documents(new)
    if before_docs != after_docs or sorted(old.document_types) != sorted(new.document_types):
        changes.append(Change("documents", ", ".join(before_docs), ", ".join(after_docs)))
    return tuple(changes)


def _documents(app: Application) -> list[str]:
    """Each entry as `type number` and, when attached, the start of its SHA-256; sorted."""
    return sorted(
        f"{d.type} {d.number}" + (f" (SHA-256 {d.sha256[:12]}...)" if d.sha256 else "")
        for d in app.documents
    )


def _transport(old: Transport, new: Transport) -> Iterable[Change]:
    return _fields(old, new, "transport")


def matches(field: str, pattern: str) -> bool:
    """`*` matches everything, `item.*` every item field (not `item` itself), else exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return field.startswith(pattern[:-1])
    return field == pattern
