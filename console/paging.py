"""Pages of a list without a COUNT over the whole table: one more row than shown says whether a
next page exists (the API's lists page by cursor for the same reason)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

PAGE_SIZE = 25


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def page_of(qs, request, size: int = PAGE_SIZE) -> Page:
    number = page_number(request)
    rows = list(qs[(number - 1) * size : number * size + 1])
    return Page(rows[:size], number, len(rows) > size)


def query_without_page(request) -> str:
    """The request's query string minus `page`, ending in '&' when not empty (for pager links)."""
    params = [(k, v) for k, values in request.GET.lists() for v in values if k != "page"]
    return urlencode(params) + "&" if params else ""
