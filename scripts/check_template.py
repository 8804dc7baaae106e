"""Checks template.yaml against the code: the routes it declares are exactly the routes the
local server and the functions serve (resolve-credential and refresh-tokens have none:
direct invocation and a schedule only), every function crate has a resource and vice versa,
only the functions built with the `encryption` (or `refresh`) feature may call KMS, and only
resolve-credential and refresh-tokens may decrypt: their roles alone have kms:Decrypt, the
data key's policy denies kms:Decrypt to every other principal, and their UpdateItem is
limited to the attributes the store writes (TOKEN_ATTRIBUTES; for the resolver also the
usage ledger's MARK_ATTRIBUTES and USAGE_ATTRIBUTES).
Every function is built by SAM through tools/sam/Makefile. The only Lambda permissions are
resolve-credential's, one per ResolverCallerArn<N> parameter, present only when that
parameter is set, naming its value as the principal; each such parameter's AllowedPattern
accepts empty or one IAM role ARN and refuses wildcards.

Usage: check_template.py <template.yaml> <routes file from `local-server --routes`>
"""

import pathlib
import re
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

DIRECT_ONLY = {"resolve-credential", "refresh-tokens"}
# The roles that may decrypt: the resolver, and the token keep-alive (refresh material).
DECRYPTERS = {"resolve-credential", "refresh-tokens"}
# What the refreshing roles may update: exactly the store's TOKEN_ATTRIBUTES.
def attribute_list(name, path):
    """A `pub const <name>: &[&str]` list of attribute names from the store's source."""
    return set(re.findall(
        r'"([a-z0-9_]+)"',
        re.search(rf"pub const {name}: &\[&str\] = &\[(.*?)\];", (root / path).read_text(), re.S).group(1),
    ))


TOKEN_ATTRIBUTES = attribute_list("TOKEN_ATTRIBUTES", "shared/src/store/tokens.rs")
# The resolver also counts resolves: its marks on the credential item, and the day items.
MARK_ATTRIBUTES = attribute_list("MARK_ATTRIBUTES", "shared/src/store/usage.rs")
USAGE_ATTRIBUTES = attribute_list("USAGE_ATTRIBUTES", "shared/src/store/usage.rs")
# Per refreshing function and leading key: the attribute lists its UpdateItem statements
# may name (each statement one of them, exactly).
UPDATE_LISTS = {
    "resolve-credential": {"WS#*": [TOKEN_ATTRIBUTES, MARK_ATTRIBUTES], "USAGE#*": [USAGE_ATTRIBUTES]},
    "refresh-tokens": {"WS#*": [TOKEN_ATTRIBUTES]},
}


def statements(policy_holder):
    """Every policy statement of a function's Policies or of an IAM role's Policies."""
    for policy in policy_holder.get("Policies", []):
        if not isinstance(policy, dict):
            continue
        document = policy.get("PolicyDocument", policy)
        yield from document.get("Statement", [])


def actions_of(statement):
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else actions


# Least privilege to the leading key: the item kinds each function's code writes, by write
# action (what a transaction item or a single write needs). Audit-only writers may put
# AUDIT#* items and nothing else.
WRITES = {
    "list-credentials": {},
    "get-credential": {},
    "list-audit-events": {},
    "create-credential": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}},
    # A write that adds or relabels a secret version also deletes the versions that fall
    # out of retention (DeleteItem on version items).
    "update-credential": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}, "dynamodb:DeleteItem": {"WS#*"}},
    "delete-credential": {"dynamodb:UpdateItem": {"WS#*"}, "dynamodb:PutItem": {"AUDIT#*"}},
    "restore-credential": {"dynamodb:UpdateItem": {"WS#*"}, "dynamodb:PutItem": {"AUDIT#*"}},
    "purge-credential": {"dynamodb:DeleteItem": {"WS#*"}, "dynamodb:PutItem": {"AUDIT#*"}},
    # Resolve refreshes OAuth tokens (UpdateItem of the token attributes only, checked below).
    # and counts its resolves in the usage ledger (USAGE#* day items, its own marks on WS#*).
    "resolve-credential": {"dynamodb:PutItem": {"AUDIT#*"}, "dynamodb:UpdateItem": {"WS#*", "USAGE#*"}},
    "refresh-tokens": {"dynamodb:PutItem": {"AUDIT#*"}, "dynamodb:UpdateItem": {"WS#*"}},
    "list-credential-versions": {},
    "get-credential-usage": {},
    "stage-credential-version": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}, "dynamodb:DeleteItem": {"WS#*"}},
    "promote-credential-version": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}, "dynamodb:DeleteItem": {"WS#*"}},
    "restore-credential-version": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}, "dynamodb:DeleteItem": {"WS#*"}},
    # Destroying keeps the version's metadata: an update of its item.
    "destroy-credential-version": {"dynamodb:PutItem": {"WS#*", "AUDIT#*"}, "dynamodb:UpdateItem": {"WS#*"}},
}
# The indexes each function's code queries, and no other (a Query on an index the role does
# not name is denied in AWS, and nothing local would notice).
QUERIED_INDEXES = {
    "list-credentials": {"gsi1-by-status", "gsi2-by-type", "gsi6-by-last-use"},
    "list-audit-events": {"gsi4-audit-by-credential"},
    "refresh-tokens": {"gsi5-token-refresh"},
}
# The functions whose code reads the key and the credential in one BatchGetItem (each
# must be granted it on exactly the key and workspace items), and no other.
KEY_WITH_CREDENTIAL = {
    "get-credential", "update-credential", "delete-credential", "restore-credential",
    "purge-credential", "resolve-credential", "get-credential-usage",
    "list-credential-versions", "stage-credential-version", "promote-credential-version",
    "restore-credential-version", "destroy-credential-version",
}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:*"}


def leading_keys(statement):
    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    if keys is None:
        return {"*"}
    return {keys} if isinstance(keys, str) else set(keys)


problems = []
declared = {}
kms_users = set()
decrypters = set()
for name, resource in template["Resources"].items():
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
        continue
    props = resource["Properties"]
    code_uri = props.get("CodeUri", "")
    if not code_uri.startswith("functions/"):
        problems.append(f"{name}: CodeUri {code_uri!r} is not a function's own folder")
        continue
    function = code_uri.removeprefix("functions/").rstrip("/")
    metadata = resource.get("Metadata", {})
    if metadata.get("BuildMethod") != "makefile" or metadata.get("ContextPath") != "tools/sam":
        problems.append(f"{name}: Metadata must be BuildMethod makefile, ContextPath tools/sam")
    routes = set()
    for event in props.get("Events", {}).values():
        if event.get("Type") != "HttpApi":
            continue
        ep = event["Properties"]
        if str(ep.get("PayloadFormatVersion")) != "2.0":
            problems.append(f"{name}: payload format must be 2.0")
        routes.add((ep["Method"].upper(), ep["Path"]))
    declared[function] = routes
    policy_holders = [props]
    role = props.get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        policy_holders.append(template["Resources"][role["Fn::GetAtt"][0]]["Properties"])
    writes = {}
    for holder in policy_holders:
        for statement in statements(holder):
            if statement.get("Effect") == "Allow":
                for action in set(actions_of(statement)) & WRITE_ACTIONS:
                    writes.setdefault(action, set()).update(leading_keys(statement))
    indexes = set()
    for holder in policy_holders:
        for statement in statements(holder):
            if statement.get("Effect") != "Allow":
                continue
            resources = statement.get("Resource", [])
            for resource in resources if isinstance(resources, list) else [resources]:
                text = str(resource.get("Fn::Sub") if isinstance(resource, dict) else resource)
                if "/index/" in text:
                    indexes.add(text.split("/index/", 1)[1])
    batch_keys = set()
    for holder in policy_holders:
        for statement in statements(holder):
            if statement.get("Effect") == "Allow" and "dynamodb:BatchGetItem" in actions_of(statement):
                batch_keys |= leading_keys(statement)
    wanted_batch = {"WS#*", "APIKEY#*"} if function in KEY_WITH_CREDENTIAL else set()
    if batch_keys != wanted_batch:
        problems.append(f"{name}: BatchGetItem on {sorted(batch_keys)}; its code reads {sorted(wanted_batch)} with it")
    if indexes != QUERIED_INDEXES.get(function, set()):
        problems.append(f"{name}: may query indexes {sorted(indexes)}; its code queries {sorted(QUERIED_INDEXES.get(function, set()))}")
    if function in WRITES and writes != WRITES[function]:
        problems.append(f"{name}: may write {writes}; its code writes {WRITES[function]}")
    # A refreshing role's UpdateItem names the token attributes, exactly.
    for holder in policy_holders:
        for statement in statements(holder):
            if statement.get("Effect") != "Allow" or "dynamodb:UpdateItem" not in actions_of(statement):
                continue
            if function not in DECRYPTERS:
                continue
            listed = set(statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes") or [])
            keys = leading_keys(statement)
            allowed = [lists for key, lists in UPDATE_LISTS[function].items() if {key} == keys]
            if not allowed or listed not in allowed[0]:
                problems.append(f"{name}: UpdateItem on {sorted(keys)} must be limited (dynamodb:Attributes) to one of the store's lists for it; it names {sorted(listed)}")
    for holder in policy_holders:
        for statement in statements(holder):
            actions = actions_of(statement)
            if any(str(a).startswith("kms:") for a in actions):
                kms_users.add(function)
            if statement.get("Effect") == "Allow" and any(
                a in ("kms:Decrypt", "kms:*", "kms:ReEncryptFrom", "kms:ReEncrypt*") for a in actions
            ):
                decrypters.add(function)
                null = statement.get("Condition", {}).get("Null", {})
                wanted = {"kms:EncryptionContext:workspace_id", "kms:EncryptionContext:credential_id"}
                if not wanted <= {k for k, v in null.items() if str(v).lower() == "false"}:
                    problems.append(f"{name}: kms:Decrypt must require both encryption-context keys (Null conditions)")
    if function in DIRECT_ONLY and routes:
        problems.append(f"{name}: {function} is direct invocation only, yet has HttpApi events")

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

if decrypters != DECRYPTERS:
    problems.append(f"only {sorted(DECRYPTERS)} may have kms:Decrypt; these do: {sorted(decrypters)}")
key_denies = [
    st for st in template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    if st.get("Effect") == "Deny" and "kms:Decrypt" in actions_of(st)
]
def excepted(statement):
    """The function names whose roles a Deny statement excepts (aws:PrincipalArn)."""
    arns = statement.get("Condition", {}).get("StringNotEquals", {}).get("aws:PrincipalArn", [])
    names = set()
    for arn in arns if isinstance(arns, list) else [arns]:
        text = str(arn.get("Fn::Sub") if isinstance(arn, dict) else arn)
        names.add(text.split("role/credentials-api-${Stage}-", 1)[-1])
    return names


if not any(excepted(st) == DECRYPTERS for st in key_denies):
    problems.append(f"the data key's policy must deny kms:Decrypt to every principal but the roles of {sorted(DECRYPTERS)}")

# Resolver callers: parameter slots, each refusing wildcards, each granting exactly its value.
CALLER_ACCEPTED = ["", "arn:aws:iam::123456789012:role/pipeline", "arn:aws:iam::123456789012:role/a/b-c_d.e"]
CALLER_REFUSED = [
    "*", "arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/pipe?ine",
    "arn:aws:iam::*:role/pipeline", "arn:aws:iam::123456789012:root", "123456789012",
    "arn:aws:iam::123456789012:role/pipeline,arn:aws:iam::123456789012:role/other",
]
caller_params = {n: p for n, p in template.get("Parameters", {}).items() if n.startswith("ResolverCallerArn")}
if not caller_params:
    problems.append("no ResolverCallerArn<N> parameter: cross-account callers have no slot")
for pname, param in caller_params.items():
    pattern = param.get("AllowedPattern")
    if param.get("Type") != "String" or param.get("Default") != "" or not pattern:
        problems.append(f"{pname}: must be a String, empty by default, with an AllowedPattern")
        continue
    for value in CALLER_ACCEPTED:
        if not re.fullmatch(pattern, value):
            problems.append(f"{pname}: AllowedPattern refuses {value!r}")
    for value in CALLER_REFUSED:
        if re.fullmatch(pattern, value):
            problems.append(f"{pname}: AllowedPattern accepts {value!r}")
granted = []
for name, resource in template["Resources"].items():
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Lambda::Permission":
        continue
    props = resource.get("Properties", {})
    principal = props.get("Principal")
    pname = principal.get("Ref") if isinstance(principal, dict) else None
    condition = template.get("Conditions", {}).get(resource.get("Condition"))
    if (
        props.get("FunctionName") != {"Fn::GetAtt": ["ResolveCredentialFunction", "Arn"]}
        or props.get("Action") != "lambda:InvokeFunction"
        or pname not in caller_params
        or condition != {"Fn::Not": [{"Fn::Equals": [{"Ref": pname}, ""]}]}
    ):
        problems.append(
            f"{name}: a Lambda permission must let one ResolverCallerArn<N> invoke "
            "resolve-credential, on the condition that it is not empty"
        )
    if pname in caller_params:
        granted.append(pname)
if sorted(granted) != sorted(caller_params):
    problems.append(f"each ResolverCallerArn<N> needs exactly one permission: {sorted(granted)}")

encrypting = {
    c for c in crates
    if re.search(r'features = \[[^]]*"(encryption|refresh)"', (root / "functions" / c / "Cargo.toml").read_text())
}
if kms_users != encrypting:
    problems.append(
        f"KMS permissions ({sorted(kms_users)}) must match the functions built with "
        f"the encryption feature ({sorted(encrypting)})"
    )

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(
    f"template.yaml: {sum(len(r) for r in declared.values())} routes on {len(declared)} functions "
    f"match the code; only {', '.join(sorted(decrypters))} can decrypt; "
    f"{len(caller_params)} cross-account resolver caller slots, wildcards refused; "
    f"every role writes only the item kinds its code writes"
)
