"""The `/v1/api/...` half of openapi.yaml is the `/api/...` half with the prefix added and
`V1` appended to every operationId (link targets included), so the two cannot drift.

    python tools/python/openapi_v1.py          # check: exit 1 if the halves differ
    python tools/python/openapi_v1.py --write  # rewrite the /v1 half from the /api half
"""

import pathlib
import re
import sys

SPEC = pathlib.Path(__file__).resolve().parents[2] / "openapi.yaml"
API_START = "  /api/credentials:\n"
V1_START = "  /v1/api/credentials:\n"
V1_END = "\ncomponents:\n"


def main() -> int:
    text = SPEC.read_text()
    api_at, v1_at, end_at = text.index(API_START), text.index(V1_START), text.index(V1_END)
    api = text[api_at:v1_at]
    expected = re.sub(r"^  /api/", "  /v1/api/", api, flags=re.M)
    expected = re.sub(r"operationId: (\w+)", r"operationId: \1V1", expected).rstrip("\n") + "\n"
    if text[v1_at:end_at + 1] == expected:
        return 0
    if "--write" in sys.argv[1:]:
        SPEC.write_text(text[:v1_at] + expected + text[end_at + 1:])
        print("openapi.yaml: /v1 paths rewritten from the /api paths")
        return 0
    print("openapi.yaml: the /v1 paths differ from the /api paths; run "
          "python tools/python/openapi_v1.py --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
