#!/usr/bin/env bash
# `sam build` as `make test` runs it, with the pinned SAM CLI (scripts/sam.sh), in two steps:
# 1. on a copy of template.yaml with a list under Resources (an Fn::ForEach block, which SAM's
#    translator plugins cannot read): it must fail with that error, or step 2 proves nothing;
# 2. on template.yaml into target/sam/build, every function through tools/sam/Makefile
#    (scripts/build.sh, as `make build`). Then each function's artifact folder must hold one
#    file, `bootstrap`, an arm64 ELF identical to make build's target/lambda/<fn>/bootstrap;
#    the sizes are printed.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_sam # here, so that its install shows (step 1's output goes to a log file)

out="$ROOT/target/sam"
rm -rf "$out"
mkdir -p "$out/broken"

awk '/^Outputs:/ { print "  Fn::ForEach::Broken:\n    - Name\n    - [A, B]\n    - Broken&{Name}:\n        Type: AWS::SNS::Topic\n" } { print }' \
  template.yaml >"$out/broken/template.yaml"
grep -q '^  Fn::ForEach::Broken:' "$out/broken/template.yaml" || { log "could not break the copy of template.yaml"; exit 1; }
log "sam build on a copy of template.yaml with a list under Resources: it must fail"
if scripts/sam.sh build --template-file "$out/broken/template.yaml" --base-dir "$ROOT" \
    --build-dir "$out/broken/build" --no-cached >"$out/broken/sam-build.log" 2>&1; then
  cat "$out/broken/sam-build.log" >&2
  log "FAILED: sam build accepted a list under Resources; this check cannot fail"
  exit 1
fi
if ! grep -q "^Error: 'list' object has no attribute 'get'" "$out/broken/sam-build.log"; then
  cat "$out/broken/sam-build.log" >&2
  log "FAILED: sam build failed on the broken copy, but not on its template"
  exit 1
fi
log "refused as expected: $(grep -m 1 '^Error:' "$out/broken/sam-build.log")"

log "sam build: every function through tools/sam/Makefile (scripts/build.sh)"
start=$SECONDS
scripts/sam.sh build --template-file template.yaml --build-dir "$out/build" --no-cached
log "sam build took $((SECONDS - start)) s"

# Each function's artifact folder (named by its logical id) against make build's output.
"$ROOT/.venv-sam/bin/python" - template.yaml "$out/build" <<'PY'
import filecmp, pathlib, sys
from samcli.yamlhelper import yaml_parse

template = yaml_parse(pathlib.Path(sys.argv[1]).read_text())
build = pathlib.Path(sys.argv[2])
problems, rows = [], []
for logical_id, resource in template["Resources"].items():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    function = resource["Properties"]["CodeUri"].removeprefix("functions/").rstrip("/")
    artifacts = build / logical_id
    files = sorted(p.name for p in artifacts.iterdir()) if artifacts.is_dir() else []
    if files != ["bootstrap"]:
        problems.append(f"{logical_id}: {artifacts} holds {files}, not one bootstrap")
        continue
    sam, make = artifacts / "bootstrap", pathlib.Path("target/lambda") / function / "bootstrap"
    header = sam.read_bytes()[:20]
    # ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
    if header[:5] != b"\x7fELF\x02" or int.from_bytes(header[18:20], "little") != 183:
        problems.append(f"{logical_id}: {sam} is not an arm64 (aarch64) ELF executable")
    if not make.is_file() or not filecmp.cmp(sam, make, shallow=False):
        problems.append(f"{logical_id}: {sam} differs from make build's {make}")
    rows.append((function, sam.stat().st_size, make.stat().st_size if make.is_file() else 0))
print(f"\n{'function':<22} {'sam build':>12} {'make build':>12}  (bytes; arm64)")
for function, sam_size, make_size in rows:
    print(f"{function:<22} {sam_size:>12} {make_size:>12}")
if problems or not rows:
    sys.exit("\n".join(problems) or "no AWS::Serverless::Function in the template")
print(f"sam build: {len(rows)} functions, each one arm64 bootstrap identical to make build's")
PY
