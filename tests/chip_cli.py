#!/usr/bin/env python3
"""The chip acceptance check: `idv chip verify` on every case of a chip set, exactly as the
set's README says it is judged (JSON on stdout, the booleans of expected.json compared, null
not judged). Usage: chip_cli.py IDV_BINARY [SET_DIR] (default tests/fixtures/emrtd)."""

import json
import pathlib
import subprocess
import sys

idv = sys.argv[1]
root = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/emrtd")
misses = []
cases = sorted(p for p in (root / "cases").iterdir() if p.is_dir())
for case in cases:
    want = json.loads((case / "expected.json").read_text())
    cmd = [idv, "chip", "verify", "--sod", str(case / "sod.bin"), "--trust", str(root / "trust")]
    for n in range(1, 17):
        if (case / f"dg{n}.bin").exists():
            cmd += ["--dg", f"{n}={case / f'dg{n}.bin'}"]
    if (case / "mrz.txt").exists():
        cmd += ["--mrz", (case / "mrz.txt").read_text()]
    if (case / "aa_signature.bin").exists():
        cmd += ["--aa-challenge", (case / "aa_challenge.hex").read_text().strip(),
                "--aa-signature", str(case / "aa_signature.bin")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        got = json.loads(run.stdout)
    except json.JSONDecodeError:
        misses.append(f"{case.name}: no JSON (exit {run.returncode}): {run.stderr[-300:]}")
        continue
    wrong = []
    if got["passive_authentication"]["valid"] != want["passive_authentication"]:
        wrong.append("passive_authentication")
    for n, ok in want.get("dg_hashes", {}).items():
        if got["data_groups"].get(n, {}).get("hash_valid") != ok:
            wrong.append(f"dg{n}")
    if want["mrz_match"] is not None and got["mrz_match"] != want["mrz_match"]:
        wrong.append("mrz_match")
    aa = got["active_authentication"]
    if want["active_authentication"] is not None and (aa or {}).get("valid") != want["active_authentication"]:
        wrong.append("active_authentication")
    valid = want["passive_authentication"] and want["mrz_match"] is not False \
        and want["active_authentication"] is not False
    if (run.returncode == 0) != valid:
        wrong.append(f"exit {run.returncode}")
    print(f"{'ok  ' if not wrong else 'MISS'} {case.name:36} {got['passive_authentication']['errors']} {' '.join(wrong)}")
    if wrong:
        misses.append(case.name)
print(f"idv chip verify: {len(cases) - len(misses)} of {len(cases)} cases as expected")
sys.exit(1 if misses else 0)
