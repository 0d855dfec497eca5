"""The statements of a client's methods that are built from the spec's names, laid out as
black lays them out (``layout``), so black has little left to do."""

from __future__ import annotations

from generator.python import layout
from generator.python.client_types import (
    ClientStatements,
    OperationStatements,
    OperationView,
    ReceiptStatements,
    ReceiptsView,
)
from generator.python.escape import python_literal


def _batches_statement(op: OperationView, arguments: layout.Call) -> str:
    """``_batches = [self.dlr_params(...) for _chunk in _chunks]``, split as black splits it."""
    call = layout.Call(
        "self.dlr_params",
        (op.constant, op.params_class, layout.Call("self.dlr_arguments", (op.constant, arguments))),
    )
    one_line = f"        _batches = [{layout.flat(call)} for _chunk in _chunks]"
    if len(one_line) <= layout.LINE_LENGTH:
        return one_line
    return "\n".join(
        ["        _batches = [", layout.statement(call, 12), "            for _chunk in _chunks", "        ]"]
    )


def client_statements(
    operations: list[OperationView], receipts: ReceiptsView | None, asynchronous: bool
) -> ClientStatements:
    """The statements of one client's methods that are built from the spec's names, laid
    out as black lays them out (``layout``)."""
    await_, for_ = ("await ", "async for") if asynchronous else ("", "for")

    def params(op: OperationView, arguments: layout.Call, indent: int) -> str:
        call = layout.Call("self.dlr_arguments", (op.constant, arguments))
        return layout.statement(
            layout.Call("self.dlr_params", (op.constant, op.params_class, call)), indent, "_params = "
        )

    def call(op: OperationView, indent: int, prefix: str, options: dict[str, str]) -> str:
        items = (
            f"self.dlr_with_extra({op.constant}, {options['extra_params']})",
            "_params",
            op.response_class,
            options["retries"],
        )
        return layout.statement(layout.Call(f"{await_}self.dlr_call", items), indent, prefix)

    def pages(op: OperationView, arguments: layout.Call, target: str, options: dict[str, str]) -> str:
        items = (
            f"self.dlr_with_extra({op.constant}, {options['extra_params']})",
            op.params_class,
            op.response_class,
            layout.Call("self.dlr_arguments", (op.constant, arguments)),
            op.paging_constant,
            options["retries"],
        )
        return layout.statement(layout.Call("self.dlr_pages", items), 8, f"{for_} {target} in ", ":")

    operations_table = [
        layout.statement(
            layout.Call("", (op.constant, op.params_class)),
            8,
            f"{python_literal(op.name)}: ",
            ",",
        )
        for op in operations
    ]
    by_name = {
        op.name: OperationStatements(
            params=params(op, op.arguments, 8),
            call=call(op, 8, "return ", op.options),
            pages=(
                pages(op, op.paged_arguments, "_, _result", op.paged_options)
                if op.paged_arguments is not None
                else ""
            ),
        )
        for op in operations
    }
    if receipts is None:
        return ClientStatements(by_name, operations_table, None)
    op = receipts.operation
    indent = 12 if receipts.mode == "batched" else 8
    function = receipts.function
    options = receipts.options
    ids_field = receipts.ids.field if receipts.ids else ""  # set whenever batch_is_ids
    receipt_statements = ReceiptStatements(
        pages=(
            pages(op, receipts.arguments, "_params, _result", options) if receipts.mode == "paged" else ""
        ),
        params=params(op, receipts.arguments, indent),
        call=call(op, indent, "_result = ", options),
        batches=_batches_statement(op, receipts.arguments),
        call_each=layout.statement(
            layout.Call(
                "await self.dlr_call_each",
                (
                    f"self.dlr_with_extra({op.constant}, {options['extra_params']})",
                    "_batches",
                    op.response_class,
                    options["retries"],
                ),
            ),
            8,
            "_results = ",
        ),
        extend=layout.statement(
            layout.Call(
                "_receipts.extend",
                (
                    (
                        # Each batch's answer holds the ids of that batch only: a record
                        # for another id (even one of another batch) was not asked for.
                        layout.Call(
                            "answered_in_order",
                            (
                                f"{function}(_result, _params)",
                                "_chunk",
                                ids_field,
                                "self.dlr_api.provider",
                            ),
                        )
                        if receipts.batch_is_ids
                        else layout.Call("in_input_order", (f"{function}(_result, _params)", "_chunk"))
                    ),
                ),
            ),
            indent,
        ),
        answered=(
            layout.statement(
                layout.Call(
                    "answered_in_order",
                    ("_receipts", receipts.ids.ids, receipts.ids.field, "self.dlr_api.provider"),
                ),
                8,
                "return ",
            )
            if receipts.ids
            else ""
        ),
        fetch_again=layout.statement(
            layout.Call(
                "lambda: self.fetch_receipts",
                (
                    *(f"{p.name}={p.name}" for p in receipts.params),
                    f"{options['retries']}={options['retries']}",
                    f"{options['extra_params']}={options['extra_params']}",
                ),
            ),
            12,
            suffix=",",
        ),
    )
    return ClientStatements(by_name, operations_table, receipt_statements)
