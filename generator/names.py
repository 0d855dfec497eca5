"""The parser's old import path of ``generator.python.names``: kept only until the parser moves
into ``generator/parse/``, which imports ``generator.python.names`` directly; delete it then."""

from generator.python.names import Scope, reserved, snake_from_class

__all__ = ["Scope", "reserved", "snake_from_class"]
