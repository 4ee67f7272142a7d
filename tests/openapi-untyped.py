#!/usr/bin/env python3
"""Counts the untyped 2xx JSON responses in a hub's OpenAPI document (issue 22).

A response is untyped when its application/json schema is a bare object: `{"type": "object"}` with no
`properties`, no `$ref`, no `additionalProperties`, no `oneOf`/`anyOf`/`allOf`. Such a response tells a
generated client nothing.

Usage:
  tests/openapi-untyped.py [--mode office|field] [--hub-bin target/debug/hub] [--list]
  tests/openapi-untyped.py --url http://127.0.0.1:8080        # a running hub
  tests/openapi-untyped.py --file openapi.json                 # a saved document

Without --url/--file it starts a throw-away hub of the given mode (`hub init` + `hub serve` on a free port
on 127.0.0.1, data in a temporary directory), fetches GET /api/v1/openapi.json (public, see
hub/src/app/openapi.rs), stops the hub and removes the directory.
Prints the figures (`untyped N of M JSON 2xx responses`) and, with --list, each untyped operation.
Exit status 0 always (it measures; it does not judge), 2 when the document cannot be had.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
OPENAPI_PATH = "/api/v1/openapi.json"


def is_bare_object(schema):
    if not isinstance(schema, dict):
        return False
    if schema.get("type") != "object":
        return False
    for k in ("properties", "$ref", "additionalProperties", "oneOf", "anyOf", "allOf", "patternProperties"):
        if k in schema:
            return False
    return True


def count(doc):
    total, untyped = 0, []
    for path, item in sorted(doc.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            for status, resp in sorted(op.get("responses", {}).items()):
                if not status.startswith("2"):
                    continue
                content = (resp or {}).get("content") or {}
                for ctype, media in content.items():
                    if "json" not in ctype:
                        continue
                    total += 1
                    if is_bare_object((media or {}).get("schema")):
                        untyped.append(f"{method.upper()} {path} {status} ({op.get('operationId', '?')})")
    return total, untyped


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def from_throwaway_hub(mode, hub_bin):
    data = tempfile.mkdtemp(prefix=f"openapi-untyped-{mode}-")
    env = dict(os.environ, HUB_LOG="warn", RUST_LOG="warn", NO_COLOR="1")
    proc = None
    try:
        subprocess.run([hub_bin, "init", "--mode", mode, "--data", data, "--name", "Tram thu"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        proc = subprocess.Popen(
            [hub_bin, "serve", "--mode", mode, "--data", data, "--listen", f"127.0.0.1:{port}",
             "--mdns", "off", "--https-listen", "off"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        end = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hub exited with {proc.returncode}")
            try:
                return fetch(base + OPENAPI_PATH)
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.2)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="office", choices=("office", "field"))
    ap.add_argument("--hub-bin", default=os.environ.get("HUB_BIN", os.path.join(here, "..", "target", "debug", "hub")))
    ap.add_argument("--url", help="base URL of a running hub")
    ap.add_argument("--file", help="a saved OpenAPI document")
    ap.add_argument("--list", action="store_true", help="list each untyped response")
    a = ap.parse_args()
    try:
        if a.file:
            with open(a.file, encoding="utf-8") as f:
                doc = json.load(f)
        elif a.url:
            doc = fetch(a.url.rstrip("/") + OPENAPI_PATH)
        else:
            doc = from_throwaway_hub(a.mode, a.hub_bin)
    except Exception as e:  # noqa: BLE001 - a measuring script: say why and stop
        print(f"cannot get the OpenAPI document: {e}", file=sys.stderr)
        return 2
    total, untyped = count(doc)
    label = a.file or a.url or f"{a.mode} hub"
    print(f"{label}: untyped {len(untyped)} of {total} JSON 2xx responses (bare object schema)")
    if a.list:
        for u in untyped:
            print("  " + u)
    return 0


if __name__ == "__main__":
    sys.exit(main())
