#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from protocol/vectors/*.json.

Usage: seeds.py VECTORS_DIR CORPUS_DIR. Seeds go to CORPUS_DIR/<target>/seed-*; the corpus folder is
gitignored, so nothing binary is committed and the seeds always follow the current vectors.
"""
import json
import os
import sys


def canonical(value):
    # Reproduces RFC 8785 for these vectors (strings, integers, objects and arrays only): see docs/protocol.md §10.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main():
    vectors, out = sys.argv[1], sys.argv[2]
    load = lambda name: json.load(open(os.path.join(vectors, name), encoding="utf-8"))
    seeds = {}

    def add(target, data):
        if isinstance(data, str):
            data = data.encode()
        seeds.setdefault(target, []).append(data)

    envelopes = load("envelope.json")["envelopes"]
    for e in envelopes:
        add("envelope_header", e["canonical"])
        add("envelope_header", canonical({"header": e["header"], "signature": e["signature"]}))
        payload = e["payload_stand_in"].encode()
        for mode in (0x01, 0x03, 0x04, 0x08, 0x10, 0x00):
            add("verify_envelope", bytes([mode]) + e["canonical"].encode() + b"\x00" + payload)
        add("canonical_json", e["canonical"])

    m = load("manifest.json")
    add("batch_manifest", m["canonical"])
    add("batch_manifest", canonical({"manifest": m["manifest"], "signature": m["signature"]}))
    add("canonical_json", m["canonical"])

    d = load("dossier.json")
    add("signed_dossier", d["sealed_plaintext"])
    add("canonical_json", d["sealed_plaintext"])
    add("canonical_json", d["canonical"])

    k = load("key-card.json")
    add("key_card", k["text"])
    add("key_card", "\ufeff" + k["text"])
    add("canonical_json", k["signed_body"])

    r = load("receipt-codes.json")
    for v in r["valid"]:
        add("receipt_code", v["code"])
        add("receipt_code", v["crockford_code"])
        add("receipt_code", bytes.fromhex(v["entropy"]))
    for v in r["lenient_inputs"] + r["invalid_inputs"]:
        add("receipt_code", v["input"])

    t = load("receipt-tokens.json")
    add("receipt_qr", t["qr_text"])
    add("receipt_qr", t["qr_text"].replace('"seq":42', '"seq":43'))
    add("receipt_qr", t["before_digit_codes"]["qr_text"])
    add("canonical_json", t["canonical"])

    # chain: a genesis run 1,2,3; a known head at 5 continued by 6,7; a duplicate and a large seq.
    add("chain", bytes([0, 1, 0, 1, 2, 1, 2, 3, 2, 3]))
    add("chain", bytes([1]) + (5).to_bytes(8, "big") + bytes([5, 6, 5, 6, 7, 6, 7]))
    add("chain", bytes([0, 1, 0, 1, 1, 0, 1, 0x82]) + (2**64 - 1).to_bytes(8, "big") + bytes([1, 2]))

    s = load("sync.json")
    pc = s["pairing_code"]
    add("pairing", pc["code"])
    add("pairing", pc["qr_text"])
    add("pairing", bytes.fromhex(pc["bytes"]))
    for v in pc["lenient_inputs"] + pc["invalid_inputs"]:
        add("pairing", v["input"])
    add("pair_messages", s["pair_request"]["signed_bytes"])
    add("pair_messages", s["pair_answer"]["signed_bytes"])
    add("holdings", s["holdings"]["signed_bytes"])
    add("ack", s["ack"]["signed_bytes"])
    add("ack", s["ack_with_equivocation"]["signed_bytes"])
    for n in s["news"]:
        add("news", n["signed_bytes"])
    add("news", s["news_batch"])
    put = canonical(s["chunk_put"]).decode()
    for total, held, mx in ((600000, 0, 262144), (600000, 300000, 262144), (40, 40, 65536)):
        add("chunk", total.to_bytes(8, "big") + held.to_bytes(8, "big") + mx.to_bytes(8, "big") + put.encode())
    for key in ("pair_request", "pair_answer", "holdings", "ack"):
        add("canonical_json", s[key]["signed_bytes"])

    for name in os.listdir(vectors):
        if name.endswith(".json"):
            add("canonical_json", open(os.path.join(vectors, name), "rb").read())

    pkg = load("package.json")
    add("procedure_package", pkg["package"]["signed_bytes"])
    add("procedure_package", pkg["index"]["canonical"])

    for target, items in seeds.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for i, data in enumerate(items):
            with open(os.path.join(folder, "seed-%02d" % i), "wb") as f:
                f.write(data)
    print("seeded %d targets from %s" % (len(seeds), vectors))


if __name__ == "__main__":
    main()
