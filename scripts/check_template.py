"""Checks template.yaml against the code: the routes it declares are exactly the routes the
local server and the functions serve, every function crate has a resource and vice versa,
and only the functions built with the `encryption` feature may call KMS.

Usage: check_template.py <template.yaml> <routes file from `local-server --routes`>
"""

import pathlib
import sys

from cfnlint.decode import decode

root = pathlib.Path(__file__).resolve().parent.parent
template_path, routes_path = sys.argv[1], sys.argv[2]
template, matches = decode(template_path)
if matches:
    sys.exit(f"cannot parse {template_path}: {matches}")

expected = {}
for line in pathlib.Path(routes_path).read_text().splitlines():
    method, path, function = line.split()
    expected.setdefault(function, set()).add((method, path))

problems = []
declared = {}
kms_users = set()
for name, resource in template["Resources"].items():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    props = resource["Properties"]
    code_uri = props.get("CodeUri", "")
    if not code_uri.startswith("functions/"):
        problems.append(f"{name}: CodeUri {code_uri!r} is not a function's own folder")
        continue
    function = code_uri.removeprefix("functions/").rstrip("/")
    if resource.get("Metadata", {}).get("BuildMethod") != "rust-cargolambda":
        problems.append(f"{name}: Metadata.BuildMethod must be rust-cargolambda")
    routes = set()
    for event in props.get("Events", {}).values():
        if event.get("Type") != "HttpApi":
            continue
        ep = event["Properties"]
        if str(ep.get("PayloadFormatVersion")) != "2.0":
            problems.append(f"{name}: payload format must be 2.0")
        routes.add((ep["Method"].upper(), ep["Path"]))
    declared[function] = routes
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if any(str(a).startswith("kms:") for a in actions):
                kms_users.add(function)

crates = {p.parent.name for p in (root / "functions").glob("*/Cargo.toml")}
for function in sorted(crates - declared.keys()):
    problems.append(f"functions/{function} has no resource in the template")
for function in sorted(declared.keys() - crates):
    problems.append(f"the template deploys functions/{function}, which does not exist")
for function in sorted(expected.keys() | declared.keys()):
    want, have = expected.get(function, set()), declared.get(function, set())
    for method, path in sorted(want - have):
        problems.append(f"{function}: served {method} {path} is not routed by the template")
    for method, path in sorted(have - want):
        problems.append(f"{function}: the template routes {method} {path}, which is not served")

encrypting = {
    c for c in crates
    if '"encryption"' in (root / "functions" / c / "Cargo.toml").read_text()
}
if kms_users != encrypting:
    problems.append(
        f"KMS permissions ({sorted(kms_users)}) must match the functions built with "
        f"the encryption feature ({sorted(encrypting)})"
    )

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"template.yaml: {sum(len(r) for r in declared.values())} routes on {len(declared)} functions match the code")
