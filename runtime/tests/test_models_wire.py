"""``ProviderModel.wire_data()``: the mapping a model was read from, kept without a copy, at
every level, through the ways pydantic copies a model, and beside a subclass's own private
attributes (the mapping is kept in the private values without declaring a PrivateAttr,
which would cost a Python post-init per model)."""

from __future__ import annotations

import copy
import pickle
from typing import Annotated

from pydantic import Field, PrivateAttr

from dlr_core.models import ProviderModel


class Item(ProviderModel):
    code: Annotated[int | None, Field(alias="Code")] = None


class Answer(ProviderModel):
    items: Annotated[list[Item], Field(alias="Items")]
    note: str | None = None


class WithState(ProviderModel):
    code: Annotated[int | None, Field(alias="Code")] = None
    _seen: int = PrivateAttr(default=3)


def _answer() -> dict[str, object]:
    return {"Items": [{"Code": "7", "Extra": True}], "note": "n"}


def test_each_level_keeps_the_very_mapping_it_was_read_from() -> None:
    wire = _answer()
    answer = Answer.model_validate(wire)
    assert answer.wire_data() is wire
    items = wire["Items"]
    assert isinstance(items, list)
    assert answer.items[0].wire_data() is items[0]
    assert answer.items[0].code == 7 and answer.items[0].wire_data()["Code"] == "7"


def test_a_model_built_from_python_names_keeps_them_and_a_constructed_one_dumps_by_wire_name() -> None:
    built = Item(code=5)
    assert built.wire_data() == {"code": 5}
    constructed = Item.model_construct(code=5)
    assert constructed.__pydantic_private__ is None
    assert constructed.wire_data() == {"Code": 5}


def test_the_wire_mapping_survives_copies_and_pickling_and_counts_in_equality() -> None:
    answer = Answer.model_validate(_answer())
    for twin in (
        answer.model_copy(),
        copy.copy(answer),
        copy.deepcopy(answer),
        pickle.loads(pickle.dumps(answer)),
    ):
        assert twin.wire_data() == _answer()
        assert twin == answer
    assert Answer.model_validate(_answer()) == answer
    other = _answer()
    other["Unread"] = 1  # kept as an extra field: a different answer
    assert Answer.model_validate(other) != answer


def test_a_subclass_keeps_its_own_private_attributes_beside_the_wire_mapping() -> None:
    wire = {"Code": 1}
    model = WithState.model_validate(wire)
    assert model._seen == 3 and model.wire_data() is wire
    model._seen = 4
    assert model._seen == 4 and model.wire_data() is wire
    assert WithState.model_construct(code=1)._seen == 3
