"""How the county goldens of tests/publish/golden were recomputed when county documents lost the release
number (issue 15), independently of the program: the old files transformed with the standard library's json and
csv, the release-2 manifest's county entries rehashed with hashlib. Usage: golden_county_header.py OLD_SNAPSHOT_DIR
GOLDEN_DIR (OLD_SNAPSHOT_DIR: the golden night released by the code before the change)."""
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

KEEP = ("feed", "election", "title", "status", "test", "zero", "certifiedAct")
DROP = ("release", "lastUpdated", "precinctsReporting", "precinctsTotal")


def county_json(data: bytes) -> bytes:
    doc = json.loads(data)
    new = {k: doc[k] for k in KEEP}
    new["county"] = doc["county"]
    new["precincts"] = doc["precincts"]
    return (json.dumps(new, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def county_csv(data: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode())))
    keep = [i for i, name in enumerate(rows[0]) if name not in DROP]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for row in rows:
        w.writerow([row[i] for i in keep])
    return out.getvalue().encode()


old_tree = Path(sys.argv[1])
golden = Path(sys.argv[2])
# release 1 goldens
for name in ("poweshiek.json", "cd4-satellite.json"):
    path = golden / "release-1/feed/county" / name
    assert path.read_bytes() == (old_tree / "releases/1/feed/county" / name).read_bytes()
    path.write_bytes(county_json(path.read_bytes()))
path = golden / "release-1/feed/county/poweshiek.csv"
assert path.read_bytes() == (old_tree / "releases/1/feed/county/poweshiek.csv").read_bytes()
path.write_bytes(county_csv(path.read_bytes()))
# release 2 manifest
manifest_path = golden / "release-2/manifest.json"
old_manifest = (old_tree / "releases/2/manifest.json").read_bytes()
assert manifest_path.read_bytes() == old_manifest
manifest = json.loads(old_manifest)
changed = 0
for entry in manifest["files"]:
    p = entry["path"]
    if p.startswith("feed/county/"):
        data = (old_tree / "releases/2" / p).read_bytes()
        new = county_json(data) if p.endswith(".json") else county_csv(data)
        entry["sha256"] = hashlib.sha256(new).hexdigest()
        entry["bytes"] = len(new)
        changed += 1
manifest_path.write_bytes((json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode())
print("entries recomputed:", changed)
