"""Header fields as a read-only, case-insensitive mapping."""

from __future__ import annotations

from typing import Iterable, Iterator, List, Mapping, Optional, Tuple


class Headers(Mapping[str, str]):
    """Header fields in order; ``headers["subject"]`` is the first value of that field, whatever
    the case of its name, and :meth:`get_all` gives every value."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Tuple[str, str]]) -> None:
        self._items: List[Tuple[str, str]] = list(items)

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        for k, v in self._items:
            if k.lower() == key:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for k, _ in self._items:
            if k.lower() not in seen:
                seen.add(k.lower())
                yield k

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._items})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._items)

    def get_all(self, name: str) -> List[str]:
        """Every value of the field ``name``, in order."""
        key = name.lower()
        return [v for k, v in self._items if k.lower() == key]

    def items_in_order(self) -> List[Tuple[str, str]]:
        """Every ``(name, value)`` as in the message, repeated fields included."""
        return list(self._items)

    def first(self, name: str) -> Optional[str]:
        """The first value of ``name``, or None."""
        return self.get(name)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"
