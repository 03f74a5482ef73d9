#!/usr/bin/env bash
# registry_push against `docker push`, on a 300 MB image, to the registry the
# registry role provisions (molecule scenario "registry", 127.0.0.1:15000).
# Targets: a first push within 1.1x of docker push's time in the same run; a
# repeated push under 2 s; a promotion between two repositories of one registry
# that uploads no layer data.
# Usage: benchmarks/registry_push.sh   (needs: make setup image)
# It writes the registry's CA to /etc/docker/certs.d/127.0.0.1:15000/ for docker push.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH MOLECULE_GLOB='molecule/*/molecule.yml'

registry=127.0.0.1:15000
image=onlywave-bench/push:300mb
work=$(mktemp -d)
export DOCKER_CONFIG=$work/docker
cleanup() {
  molecule destroy -s registry >/dev/null 2>&1 || true
  rm -rf "$work" "/etc/docker/certs.d/$registry"
}
trap cleanup EXIT

echo "bench: provisioning the registry with the registry role (molecule converge -s registry)"
molecule destroy -s registry >/dev/null 2>&1 || true
molecule converge -s registry >"$work/converge.log" 2>&1 || { tail -30 "$work/converge.log"; exit 1; }
# The scenario keeps its CA in its ephemeral directory.
ca=$(ls -d ~/.ansible/tmp/molecule.*.registry | head -1)/pki/ca.crt
[ -f "$ca" ] || { echo "bench: registry CA not found at $ca" >&2; exit 1; }
mkdir -p "/etc/docker/certs.d/$registry" && cp "$ca" "/etc/docker/certs.d/$registry/ca.crt"

echo "bench: building the 300 MB image"
docker build -q -t "$image" benchmarks/registry_push >/dev/null
docker image inspect -f 'image size: {{ .Size }} bytes' "$image"

seconds() { local start=$1; echo "$(date +%s.%N) - $start" | bc; }

echo molecule-pusher-password | docker login -u pusher --password-stdin "$registry" >/dev/null
docker tag "$image" "$registry/bench/docker:v1"
start=$(date +%s.%N)
docker push -q "$registry/bench/docker:v1" >/dev/null
docker_time=$(seconds "$start")

push() {  # push with the module through an ad-hoc ansible run; prints its JSON result
  ansible localhost -i localhost, -c local -e ansible_python_interpreter="$PWD/.venv/bin/python" -o -m onlywave.infra.registry_push -a "$1 registry=$registry username=pusher \
    password=molecule-pusher-password ca_path=$ca" 2>/dev/null | sed 's/^[^{]*//'
}
start=$(date +%s.%N)
first=$(push "image=$image repository=bench/module tags=v1 ${COMPRESSION_LEVEL:+compression_level=$COMPRESSION_LEVEL}")
module_time=$(seconds "$start")
start=$(date +%s.%N)
again=$(push "image=$image repository=bench/module tags=v1")
again_time=$(seconds "$start")
digest=$(echo "$first" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
promote=$(push "source={'registry':'$registry','repository':'bench/module','reference':'$digest','username':'pusher','password':'molecule-pusher-password','ca_path':'$ca'} repository=bench/promoted tags=v1")

field() { echo "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
printf 'docker push (first):          %6.1f s\n' "$docker_time"
printf 'registry_push (first):        %6.1f s, %s bytes uploaded, %s layers\n' "$module_time" \
  "$(field "$first" bytes_uploaded)" "$(field "$first" layers_uploaded)"
printf 'ratio registry_push / docker push: %.2f (target <= 1.10)\n' "$(echo "$module_time / $docker_time" | bc -l)"
printf 'registry_push (again):        %6.2f s, changed=%s, %s bytes uploaded (target < 2 s)\n' "$again_time" \
  "$(field "$again" changed)" "$(field "$again" bytes_uploaded)"
printf 'promote by digest:            %s bytes uploaded, %s layers mounted, digest equal: %s\n' \
  "$(field "$promote" bytes_uploaded)" "$(field "$promote" layers_mounted)" \
  "$([ "$(field "$promote" digest)" = "$digest" ] && echo yes || echo no)"
