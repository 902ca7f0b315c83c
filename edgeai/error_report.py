"""What the CLI prints for an error under `--json`: one JSON object on stdout (where `--json` results go), so a
machine reads one stream and gets either the result or the error, and the exit code equals its `code`.

    {"error": {"code": 2, "type": "ModelError", "message": "...", "file": "kws.tflite", "node": "conv1"}}

`file` and `node` appear when known: from the error itself, else from the message's conventional
"PATH: ..." opening and "node 'NAME'" phrase, else (for model errors) the model the command was given.
"""

from __future__ import annotations

import json
import os
import re

from edgeai.errors import EdgeAIError, ModelError

_NODE = re.compile(r"\bnode '((?:[^'\\]|\\.)*)'")


def error_object(error: BaseException, code: int, kind: str | None = None, model: str | None = None) -> dict:
    message = str(error)
    info = {"code": code, "type": kind or type(error).__name__, "message": message}
    file = getattr(error, "file", None)
    if file is None:
        head = message.split(": ", 1)[0]
        if head and head != message and os.path.exists(head):
            file = head
        elif isinstance(error, ModelError) and model:
            file = model
    if file is not None:
        info["file"] = str(file)
    node = getattr(error, "node", None)
    if node is None and isinstance(error, EdgeAIError):
        m = _NODE.search(message)
        node = m.group(1) if m else None
    if node is not None:
        info["node"] = node
    return {"error": info}


def print_error(error: BaseException, code: int, kind: str | None = None, model: str | None = None) -> None:
    print(json.dumps(error_object(error, code, kind, model)), flush=True)
