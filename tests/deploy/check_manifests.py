#!/usr/bin/env python3
"""Checks deploy/kubernetes/flanneld-alivpc.yaml: valid YAML documents, and a DaemonSet that is
what the README says (host network, /healthz probes on the served port, only NET_ADMIN and
NET_RAW, resources sized, the access key optional, valid CNI JSON). kubectl is not a Debian 12
package, so this is the check: it parses the manifests as the API server would receive them."""
import json
import sys

import yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


for k in ("Namespace", "ServiceAccount", "ConfigMap", "DaemonSet", "Secret"):
    check(k in kinds, f"no {k}")
for d in docs:
    check(d.get("apiVersion") and d.get("metadata", {}).get("name"), f"{d.get('kind')}: no apiVersion/name")
ds = kinds["DaemonSet"]
spec = ds["spec"]["template"]["spec"]
check(spec.get("hostNetwork") is True, "DaemonSet is not on the host network")
check(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
      "selector does not match the pod labels")
c = spec["containers"][0]
env = {e["name"]: e for e in c.get("env", [])}
port = int(env["FLANNELD_HEALTHZ_PORT"]["value"])
for probe in ("livenessProbe", "readinessProbe"):
    get = c.get(probe, {}).get("httpGet", {})
    check(get.get("path") == "/healthz" and get.get("port") == port, f"{probe} is not GET /healthz on {port}")
caps = c["securityContext"]["capabilities"]
check(caps.get("drop") == ["ALL"] and sorted(caps.get("add", [])) == ["NET_ADMIN", "NET_RAW"],
      "capabilities are not exactly NET_ADMIN + NET_RAW")
check(c["securityContext"].get("privileged") is False, "container is privileged")
res = c["resources"]
check("memory" in res["requests"] and "memory" in res["limits"], "no memory request/limit")
refs = [e["secretRef"] for e in c.get("envFrom", []) if "secretRef" in e]
check(refs and all(r.get("optional") is True for r in refs), "the credentials Secret is not optional")
check(any(m["mountPath"] == "/run/flannel" for m in c["volumeMounts"]), "/run/flannel not mounted")
cni = json.loads(kinds["ConfigMap"]["data"]["cni-conf.json"])
check(cni["plugins"][0]["type"] == "flannel", "CNI config does not use the flannel plugin")
secret = kinds["Secret"]
check(not secret.get("data") and not secret.get("stringData"), "the example Secret holds a key")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"{len(docs)} manifests, DaemonSet checked")
