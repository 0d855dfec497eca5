"""Page-numbered paging that ends at the number of pages an answer gives (``Paging.page_count``),
for providers that count pages rather than records: the next page is asked for while pages
remain, whatever the first page's number, and never past the last."""

from __future__ import annotations

from pydantic import BaseModel

from dlr_core.spec import Paging


class _Params(BaseModel):
    page: int = 1


def _paging(first_page: int) -> Paging[BaseModel]:
    return Paging(items=lambda result: [], page_param="page", first_page=first_page, page_count=lambda r: 3)


def test_pages_are_asked_for_until_the_last_one() -> None:
    paging = _paging(first_page=1)
    assert paging.after({"page": 1}, _Params(), count=2, seen=2, total=None, page_count=3) == {"page": 2}
    assert paging.after({"page": 2}, _Params(), count=2, seen=4, total=None, page_count=3) == {"page": 3}
    assert paging.after({"page": 3}, _Params(), count=2, seen=6, total=None, page_count=3) is None


def test_a_zero_based_first_page_counts_from_zero() -> None:
    paging = _paging(first_page=0)
    assert paging.after({"page": 1}, _Params(), count=2, seen=4, total=None, page_count=3) == {"page": 2}
    assert paging.after({"page": 2}, _Params(), count=2, seen=6, total=None, page_count=3) is None


def test_an_empty_page_or_a_single_page_ends_it() -> None:
    paging = _paging(first_page=1)
    assert paging.after({"page": 1}, _Params(), count=0, seen=0, total=None, page_count=3) is None
    assert paging.after({"page": 1}, _Params(), count=5, seen=5, total=None, page_count=1) is None
    assert paging.after({"page": 1}, _Params(), count=5, seen=5, total=None, page_count=0) is None


def test_without_a_page_count_the_total_still_decides() -> None:
    paging = Paging(items=lambda result: [], page_param="page")
    assert paging.after({"page": 1}, _Params(), count=2, seen=2, total=4) == {"page": 2}
    assert paging.after({"page": 2}, _Params(), count=2, seen=4, total=4) is None
    assert paging.after({"page": 1}, _Params(), count=2, seen=2, total=None) is None
