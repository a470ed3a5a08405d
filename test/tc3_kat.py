#!/usr/bin/env python3
"""Known-answer test of the C TC3 signer.

Runs every vector of tc3-vectors.json (the official SDK's own signatures) and
every worked example of tc3-doc-examples.json through test/tc3_kat (a driver
linked with src/tc3.c only) and compares canonical request, string to sign,
signing key, signature and Authorization byte for byte.

usage: tc3_kat.py KAT_BINARY VECTORS_JSON DOC_EXAMPLES_JSON
"""
import hashlib
import json
import subprocess
import sys


def hexf(s):
    b = s.encode() if isinstance(s, str) else s
    return b.hex() if b else "-"


def unhexf(s):
    return b"" if s == "-" else bytes.fromhex(s)


def case_line(cid, inp, host, extra):
    fields = [cid, hexf(inp["secretId"]), hexf(inp["secretKey"]), hexf(host),
              hexf(inp["service"]), str(inp["timestamp"]),
              hexf(inp["content_type"]), hexf(inp["payload"]), str(len(extra))]
    for name, value in extra:
        fields += [hexf(name), hexf(value)]
    return " ".join(fields)


def extra_headers(inp):
    """Headers signed besides content-type and host, as (name, value)."""
    extra = list(inp.get("extra_signed_headers", {}).items())
    for name in (inp.get("signed_headers") or "content-type;host").split(";"):
        if name == "x-tc-action":
            extra.append(("X-TC-Action", inp["action"]))
        elif name not in ("content-type", "host"):
            raise SystemExit("unsupported signed header " + name)
    return extra


def collect_cases(vectors_path, doc_path):
    """Yield (id, line, checks) where checks maps output field -> expected."""
    vectors = json.load(open(vectors_path, encoding="utf-8"))
    for v in vectors["vectors"]:
        inp = v["inputs"]
        checks = {"canonical_request": v["canonical_request"],
                  "string_to_sign": v["string_to_sign"],
                  "signature": v["signature"],
                  "authorization": v["authorization"],
                  "payload_sha256": v["payload_sha256"]}
        yield v["id"], case_line(v["id"], inp, v["signed_host"], []), checks
    for v in vectors["documented_examples"]:
        inp = dict(v["inputs"])
        masked = inp["secretKey"] == "masked"
        if masked:
            inp["secretKey"] = "unused"
        checks = {"canonical_request": v["canonical_request"],
                  "string_to_sign": v["string_to_sign"]}
        doc = v.get("documented", {})
        if "hashed_request_payload" in doc:
            checks["payload_sha256"] = doc["hashed_request_payload"]
        if "hashed_canonical_request" in doc:
            checks["canonical_request_sha256"] = doc["hashed_canonical_request"]
        if not masked:
            checks["signature"] = v["signature"]
            checks["authorization"] = v["authorization"]
        yield v["id"], case_line(v["id"], inp, inp["host"], extra_headers(inp)), checks
    for v in json.load(open(doc_path, encoding="utf-8"))["examples"]:
        inp = v["inputs"]
        checks = {k: v[k] for k in ("payload_sha256", "canonical_request_sha256",
                                    "signing_key", "signature") if k in v}
        yield v["id"], case_line(v["id"], inp, inp["host"], extra_headers(inp)), checks


def parse_output(line):
    f = line.split(" ")
    if len(f) != 7:
        return None
    cid, creq, sts, key, sig, auth, shdr = f
    creq_b = unhexf(creq)
    return cid, {
        "canonical_request": creq_b.decode("utf-8"),
        "canonical_request_sha256": hashlib.sha256(creq_b).hexdigest(),
        "payload_sha256": creq_b.decode("utf-8").rsplit("\n", 1)[-1],
        "string_to_sign": unhexf(sts).decode("utf-8"),
        "signing_key": key,
        "signature": sig,
        "authorization": unhexf(auth).decode("utf-8"),
        "signed_headers": unhexf(shdr).decode("utf-8"),
    }


def main():
    binary, vectors_path, doc_path = sys.argv[1:4]
    cases = list(collect_cases(vectors_path, doc_path))
    stdin = "".join(line + "\n" for _, line, _ in cases)
    proc = subprocess.run([binary], input=stdin.encode(), capture_output=True, check=True)
    outputs = proc.stdout.decode().splitlines()
    passed = failed = checked = 0
    for (cid, _, checks), out in zip(cases, outputs):
        parsed = parse_output(out)
        if parsed is None or parsed[0] != cid:
            print(f"FAIL {cid}: signer output unusable: {out[:80]!r}")
            failed += 1
            continue
        got = parsed[1]
        bad = [k for k, want in checks.items() if got[k] != want]
        checked += len(checks)
        if bad:
            failed += 1
            for k in bad:
                print(f"FAIL {cid}: {k}\n  want {checks[k]!r}\n  got  {got[k]!r}")
        else:
            passed += 1
            print(f"ok {cid} ({len(checks)} fields)")
    if len(outputs) != len(cases):
        print(f"FAIL: {len(cases)} cases sent, {len(outputs)} answered")
        failed += 1
    print(f"tc3 known-answer test: {passed} passed, {failed} failed, "
          f"{checked} fields compared byte for byte")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
