"""Schemathesis hooks for the hub (loaded through SCHEMATHESIS_HOOKS by run.py).

The hub takes voice recordings as raw `audio/webm` bodies (PUT /api/v1/languages/{code}/audio/{key}, as a
phone's MediaRecorder makes them). Schemathesis knows how to send raw bytes for `application/octet-stream`
and common file types but not for audio: it is told to send them the same way.
"""

import schemathesis
from schemathesis.transport.requests import binary_serializer

schemathesis.serializer("audio/webm")(binary_serializer)
