"""Lets a module double as the function it is named after: `edgeai.compile(model, target)` calls
`edgeai.compile.compile_model`, while `from edgeai.compile import compile_model` keeps working. (A plain
function named like a submodule would be replaced by the module the first time the module is imported.)"""

from __future__ import annotations

import sys
import types


def make_callable(module_name: str, function) -> None:
    class CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
