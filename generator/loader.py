"""The parser's old import path of the loader (``generator.load``): kept only until the parser
moves into ``generator/parse/``, which imports ``generator.load`` directly; delete it then."""

from generator.load import JsonPath, LoadedSpec, SourceMap

__all__ = ["JsonPath", "LoadedSpec", "SourceMap"]
