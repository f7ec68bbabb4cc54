"""Make kubernetes-1.32-strict.json again: the schemas of the kinds deploy/k8s uses, each with
the definitions it reaches and nothing else, from a folder of kubernetes-json-schema's
`-local-strict` layout (the kubernetes-validate wheel on PyPI ships one):

    pip download --no-deps -d /tmp/kv kubernetes-validate==1.37.0
    unzip -q /tmp/kv/*.whl -d /tmp/kv
    python tests/deploy/schemas/bundle_kubernetes.py \
        /tmp/kv/kubernetes_validate/kubernetes-json-schema/v1.32.0-local-strict

A kind deploy/k8s starts using is added to KINDS here first (tests/deploy/test_manifests.py
refuses a kind the bundle lacks).
"""

import json
import sys
from pathlib import Path

KINDS = {
    "v1/ConfigMap": "configmap-v1.json",
    "v1/Secret": "secret-v1.json",
    "v1/Service": "service-v1.json",
    "batch/v1/Job": "job-batch-v1.json",
    "apps/v1/Deployment": "deployment-apps-v1.json",
    "autoscaling/v2/HorizontalPodAutoscaler": "horizontalpodautoscaler-autoscaling-v2.json",
}
OUT = Path(__file__).with_name("kubernetes-1.32-strict.json")


def local_refs(node, found: set[str]):
    """`node` with every $ref pointing into this file's $defs, the names it refers to in
    `found`; the sources' own $id and $schema dropped."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref":
                name = value.split("#/$defs/")[-1]
                found.add(name)
                out[key] = f"#/$defs/{name}"
            elif key not in ("$id", "$schema"):
                out[key] = local_refs(value, found)
        return out
    if isinstance(node, list):
        return [local_refs(item, found) for item in node]
    return node


def bundle(source: Path) -> dict:
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    wanted: set[str] = set()
    kinds = {
        kind: local_refs(json.loads((source / name).read_text()), wanted)
        for kind, name in KINDS.items()
    }
    kept: dict = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name not in kept:
            found: set[str] = set()
            kept[name] = local_refs(definitions[name], found)
            todo += sorted(found - kept.keys())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            "Kubernetes 1.32 object schemas (strict: unknown fields refused) for the kinds "
            "deploy/k8s uses, from the kubernetes-validate 1.37.0 wheel on PyPI (Apache-2.0; "
            "kubernetes-json-schema/v1.32.0-local-strict), reduced to the definitions those "
            "kinds reach by tests/deploy/schemas/bundle_kubernetes.py."
        ),
        "kinds": kinds,
        "$defs": dict(sorted(kept.items())),
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(bundle(Path(sys.argv[1])), separators=(",", ":")))
