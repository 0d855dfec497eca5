"""Page-numbered paging that ends at a short page (``Paging.stop_at_short_page``), for
answers that count neither records nor pages: the next page is asked for while pages come
back full, and a page with fewer records than the size asked for, or none, is the last."""

from __future__ import annotations

from pydantic import BaseModel

from dlr_core.spec import Paging


class _Params(BaseModel):
    page: int = 1
    size: int | None = None


def _paging(first_page: int = 1) -> Paging[BaseModel]:
    return Paging(
        items=lambda result: [],
        page_param="page",
        first_page=first_page,
        size_param="size",
        stop_at_short_page=True,
    )


def test_full_pages_go_on_and_a_short_page_is_the_last() -> None:
    paging = _paging()
    sized = _Params(size=3)
    assert paging.after({"page": 1}, sized, count=3, seen=3, total=None) == {"page": 2}
    assert paging.after({"page": 2}, sized, count=3, seen=6, total=None) == {"page": 3}
    assert paging.after({"page": 3}, sized, count=2, seen=8, total=None) is None


def test_a_zero_based_first_page_moves_on_alike() -> None:
    paging = _paging(first_page=0)
    assert paging.after({"page": 0}, _Params(page=0, size=2), count=2, seen=2, total=None) == {"page": 1}


def test_an_empty_page_is_the_last() -> None:
    assert _paging().after({"page": 4}, _Params(size=3), count=0, seen=9, total=None) is None


def test_without_a_size_only_an_empty_page_ends_it() -> None:
    # The provider's own default size is unknown: any page with records may have a next one.
    paging = _paging()
    assert paging.after({"page": 1}, _Params(), count=1, seen=1, total=None) == {"page": 2}
    assert paging.after({"page": 2}, _Params(), count=0, seen=1, total=None) is None


def test_without_stop_at_short_page_a_page_without_total_is_the_only_one() -> None:
    paging = Paging(items=lambda result: [], page_param="page", size_param="size")
    assert paging.after({"page": 1}, _Params(size=3), count=3, seen=3, total=None) is None
