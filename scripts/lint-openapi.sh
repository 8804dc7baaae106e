#!/usr/bin/env bash
# OpenAPI checks of `make test`: the /v1 half mirrors the /api half, spectral (spectral:oas)
# and redocly (recommended) report nothing (exceptions: .spectral.yaml, each with its
# reason), and every `pattern` compiles as a Unicode-aware ECMAScript regex.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_linters
bin="$ROOT/tools/lint/node_modules/.bin"

"$VENV/bin/python" tools/python/openapi_v1.py
"$bin/spectral" lint openapi.yaml --ruleset .spectral.yaml --fail-severity=hint
# redocly exits non-zero on errors only; a warning fails here too.
report="$("$bin/redocly" lint openapi.yaml --config redocly.yaml --format=json 2>/dev/null)"
python3 - "$report" <<'PY'
import json, sys
problems = json.loads(sys.argv[1]).get("problems", [])
for p in problems:
    print(f"redocly {p['severity']}: {p['ruleId']}: {p['message']}", file=sys.stderr)
print(f"redocly (recommended): {len(problems)} problems")
sys.exit(1 if problems else 0)
PY
"$VENV/bin/python" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open("openapi.yaml")), sys.stdout)' \
  > "$ROOT/target/openapi.json"
node - "$ROOT/target/openapi.json" <<'JS'
// Every `pattern` of the spec must compile with the `u` flag (JSON Schema reads patterns
// as Unicode-aware).
const spec = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
let count = 0;
(function walk(node, path) {
  if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${path}/${i}`));
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "pattern" && typeof value === "string") {
      new RegExp(value, "u"); // throws on an invalid pattern
      count++;
    }
    walk(value, `${path}/${key}`);
  }
})(spec, "#");
console.log(`patterns: ${count} compile as Unicode-aware ECMAScript regexes`);
JS
