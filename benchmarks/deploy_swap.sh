#!/usr/bin/env bash
# Rolling deploy speed on the dev topology (edge, lb, 3 API hosts): per-host
# swap time (drain -> new containers /ready -> back in rotation) and the whole
# rollout, for N releases of the reference API, each under a 60 requests/s load
# through the edge (127.0.0.1:8443). Target: under 20 s per host.
# Usage: benchmarks/deploy_swap.sh [releases]   (needs: make up)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
releases=${1:-3}
status=~/.cache/onlywave-infra/dev/deploys/last.json
curl -sf --cacert ~/.cache/onlywave-infra/dev/pki/ca.crt https://127.0.0.1:8443/health >/dev/null \
  || { echo "bench: the dev environment does not answer on 127.0.0.1:8443; run make up" >&2; exit 1; }

for n in $(seq 1 "$releases"); do
  version="bench-$(date +%s)-$n"
  python3 - "$version" "$status" <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from load import Load

version, status = sys.argv[1], sys.argv[2]
ca = f"{__import__('pathlib').Path.home()}/.cache/onlywave-infra/dev/pki/ca.crt"
with Load("https://127.0.0.1:8443/version", rate=60, ca=ca) as load:
    started = time.monotonic()
    result = subprocess.run(["ansible-playbook", "playbooks/deploy.yml", "-e", f"deploy_version={version}"],
                            capture_output=True, text=True, timeout=1200)
    wall = time.monotonic() - started
if result.returncode != 0:
    sys.exit(f"bench: deploy {version} failed:\n{result.stdout[-3000:]}")
s, deploy = load.summary(), json.load(open(status))
swaps = [h["swap_seconds"] for h in deploy["hosts"]]
print(f"bench: {version}: swaps {swaps} s (max {max(swaps)} s, target < 20 s: {'met' if max(swaps) < 20 else 'MISSED'}); "
      f"rollout {deploy['duration_seconds']} s (playbook wall {wall:.1f} s, build and push included); "
      f"load {s['requests']} requests at {s['rate']}/s, {s['non_2xx']} non-2xx, {s['errors']} errors")
PY
done
