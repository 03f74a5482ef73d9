#!/usr/bin/env bash
# The environment rehearsal (docs/rehearsal.md): site.yml with an environment's
# own inventory, group_vars and vault, against the local AWS emulator, its
# instances booted as local systemd containers.
#   scripts/rehearsal.sh up|site|deploy|down   (ENV=prod by default; ENV=staging too)
# up:     from nothing: a fresh emulator, the VPC network, then site.yml twice
#         (the first run creates everything; the second must change nothing),
#         then the ALB stand-in on http://127.0.0.1:18080/ (staging: 18081).
#         REHEARSAL_RERUN=0 runs site.yml once: the rehearsal's test does, since
#         it runs site.yml again after its releases and drills, and that run
#         must change nothing either.
# site:   site.yml once more against what is up (arguments pass through).
# deploy: playbooks/deploy.yml with the environment's own deploy settings,
#         pushing through the ECR stand-in (arguments pass through).
# down:   removes the containers, the network, the emulator and the stand-ins.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH

env=${ENV:-prod}
case "$env" in staging | prod) ;; *) echo "rehearsal: ENV must be staging or prod" >&2; exit 2 ;; esac
action=${1:-up}
[ $# -gt 0 ] && shift

network=onlywave-rehearsal-$env
label=org.onlywave.rehearsal=$env
standin_label=org.onlywave.rehearsal-standin=$env
state=.cache/rehearsal-$env
mkdir -p "$state"

# The emulator listens on the VPC network's gateway, which this machine and the
# hosts both reach; its EC2 lists the Debian image the aws_ec2 role looks for.
aws_value() {
  python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])' \
    "inventories/$env/group_vars/all/aws.yml" "$1"
}
cidr=$(aws_value aws_vpc_cidr)
gateway=$(python -c 'import ipaddress, sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))' "$cidr")
emulator=(env AWS_EMULATOR_PORT=5002 AWS_EMULATOR_HOST="$gateway" MOTO_AMIS_PATH="$PWD/tests/rehearsal/amis.json"
  ONLYWAVE_EMULATOR_ACM_AT_ARN=1)
export AWS_ENDPOINT_URL="http://$gateway:5002" AWS_URL="http://$gateway:5002"
export AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_DEFAULT_REGION=$(aws_value aws_region)
export ANSIBLE_FORCE_COLOR=0
# A fact cache of its own: the rehearsal's hosts are new on every `up`.
export ANSIBLE_CACHE_PLUGIN_CONNECTION=$state/facts
# Grafana and ELK cannot run here (their images cannot be had): docs/rehearsal.md.
inventory=(-i "inventories/$env" -i tests/rehearsal/inventory)
# Prod's six API hosts are three here (tests/rehearsal/prod/); staging keeps its counts.
[ "$env" = staging ] || inventory+=(-i tests/rehearsal/prod)
inventory+=(--vault-id "$env@tests/vault/$env.vault-pass")
site=(ansible-playbook site.yml "${inventory[@]}" --skip-tags grafana,elk)

# ECR's registry cannot be emulated: a Debian docker-registry stands at the
# address ECR's name resolves to for the hosts, with a certificate for that name
# from the rehearsal's own CA, which the hosts trust as they trust AWS's.
ecr_address=$(python -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1])[-6])' "$cidr")
ecr_container=onlywave-rehearsal-$env-ecr
# Where the ALB stand-in listens on 127.0.0.1.
alb_port=$([ "$env" = prod ] && echo 18080 || echo 18081)

ecr_certificates() {
  local name=$1 dir=$state/ecr
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=OnlyWave rehearsal CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$dir/registry.key" -out "$dir/registry.csr" 2>/dev/null
  openssl x509 -req -in "$dir/registry.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf 'subjectAltName=DNS:%s,IP:%s' "$name" "$ecr_address") -out "$dir/registry.crt" 2>/dev/null
}

ecr_registry() {
  local dir=$state/ecr
  docker run --detach --name "$ecr_container" --hostname ecr --network "$network" --ip "$ecr_address" \
    --cap-add SYS_ADMIN --tmpfs /run --tmpfs /run/lock --tmpfs /tmp --volume /sys/fs/cgroup:/sys/fs/cgroup:ro \
    --stop-signal SIGRTMIN+3 --label "$standin_label" onlywave/host:bookworm /lib/systemd/systemd >/dev/null
  # apt needs the container booted: systemd empties /tmp while it boots.
  docker exec "$ecr_container" sh -c 'for i in $(seq 60); do case $(systemctl is-system-running --wait 2>/dev/null) in
    running|degraded) exit 0;; esac; sleep 1; done; exit 1'
  docker exec -i "$ecr_container" sh -eu <<'SCRIPT'
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends docker-registry >/dev/null
SCRIPT
  docker cp "$dir/registry.crt" "$ecr_container:/etc/docker/registry/ecr-standin.crt"
  docker cp "$dir/registry.key" "$ecr_container:/etc/docker/registry/ecr-standin.key"
  docker exec -i "$ecr_container" sh -eu <<'SCRIPT'
chown docker-registry /etc/docker/registry/ecr-standin.key
chmod 0400 /etc/docker/registry/ecr-standin.key
cat >/etc/docker/registry/config.yml <<'CONFIG'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
http:
  addr: :443
  tls:
    certificate: /etc/docker/registry/ecr-standin.crt
    key: /etc/docker/registry/ecr-standin.key
CONFIG
mkdir -p /etc/systemd/system/docker-registry.service.d
printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' >/etc/systemd/system/docker-registry.service.d/port.conf
systemctl daemon-reload
systemctl restart docker-registry
SCRIPT
  for _ in $(seq 1 30); do
    curl -sf --cacert "$dir/ca.crt" "https://$ecr_address/v2/" >/dev/null && return 0
    sleep 1
  done
  echo "the ECR stand-in does not answer on https://$ecr_address/v2/" >&2
  docker exec "$ecr_container" journalctl -u docker-registry --no-pager | tail -5 >&2
  return 1
}

down() {
  local containers tries=0
  containers=$(docker ps -aq --filter "label=$label"; docker ps -aq --filter "label=$standin_label")
  [ -z "$containers" ] || docker rm --force --volumes $containers >/dev/null
  # The ALB stand-in may have stopped by itself already (its --lifetime).
  [ ! -f "$state/alb.pid" ] || kill "$(cat "$state/alb.pid")" 2>/dev/null || true
  "${emulator[@]}" scripts/aws.sh stop >/dev/null
  # Last, since it can fail: the engine may still be releasing the removed
  # containers' endpoints. A few tries, 2 s apart, then the engine's own error.
  while docker network inspect "$network" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if docker network rm "$network" >/dev/null 2>&1; then
      break
    elif [ "$tries" -ge 5 ]; then
      echo "rehearsal: network $network is still in use after $tries tries (docker network inspect $network);" \
        "with no container left on it, the engine keeps a stale endpoint: restart the engine, then run this again" >&2
      docker network rm "$network" >/dev/null
    fi
    sleep 2
  done
  rm -rf "$state"
}

recap() {
  # The PLAY RECAP's changed counts, summed; the log keeps the rest.
  awk '/PLAY RECAP/ {on = 1; next} on && /changed=/ {split($0, a, "changed="); split(a[2], b, " "); n += b[1]} END {print n + 0}' "$1"
}

case "$action" in
  up)
    echo "rehearsal[$env]: removing any earlier rehearsal"
    down
    mkdir -p "$state"
    docker network create --subnet "$cidr" --gateway "$gateway" --label "$label" "$network" >/dev/null
    "${emulator[@]}" scripts/aws.sh start
    python tests/rehearsal/account.py --env "$env"
    ecr_name=$(ansible localhost "${inventory[@]}" -o -m ansible.builtin.debug -a 'msg={{ deploy_registry }}' 2>/dev/null |
      sed -n 's/.*"msg": "\(.*\)".*/\1/p')
    ecr_certificates "$ecr_name"
    echo "$ecr_name" >"$state/ecr/name"
    echo "rehearsal[$env]: ECR stand-in for $ecr_name at $ecr_address:443 (log: $state/ecr.log)"
    ecr_registry >"$state/ecr.log" 2>&1 &
    ecr_pid=$!
    echo "rehearsal[$env]: booting each instance the emulator runs as a container (log: $state/ec2_boot.log)"
    python tests/rehearsal/ec2_boot.py --env "$env" --network "$network" --watch 1800 \
      --add-host "$ecr_name:$ecr_address" --trust-ca "$state/ecr/ca.crt" >"$state/ec2_boot.log" 2>&1 &
    boot_pid=$!
    # ec2_boot.py ends by itself after --watch seconds; it may be gone already.
    trap 'kill $boot_pid 2>/dev/null || true' EXIT
    runs=(first second)
    [ "${REHEARSAL_RERUN:-1}" = 1 ] || runs=(first)
    for run in "${runs[@]}"; do
      start=$(date +%s)
      echo "rehearsal[$env]: site.yml, $run run (log: $state/site-$run.log)"
      if ! "${site[@]}" "$@" >"$state/site-$run.log" 2>&1; then
        tail -60 "$state/site-$run.log"
        echo "rehearsal[$env]: site.yml's $run run failed; see $state/site-$run.log" >&2
        exit 1
      fi
      changed=$(recap "$state/site-$run.log")
      echo "rehearsal[$env]: $run run: $(( $(date +%s) - start )) s, $changed changed"
      [ "$run" = first ] && { kill $boot_pid 2>/dev/null || true; cat "$state/ec2_boot.log"; }
    done
    sed -n '/PLAY RECAP/,$p' "$state/site-${runs[-1]}.log"
    if [ "${#runs[@]}" -eq 2 ] && [ "$changed" -ne 0 ]; then
      echo "rehearsal[$env]: the second run changed $changed things; it must change nothing" >&2
      exit 1
    fi
    wait "$ecr_pid" || { cat "$state/ecr.log"; echo "rehearsal[$env]: the ECR stand-in failed" >&2; exit 1; }
    nohup python tests/rehearsal/alb.py --target-group "onlywave-$env-api" --port "$alb_port" >"$state/alb.log" 2>&1 &
    echo $! >"$state/alb.pid"
    echo "rehearsal[$env]: up. ALB stand-in: http://127.0.0.1:$alb_port/ (no TLS, no WAF: docs/rehearsal.md)"
    echo "rehearsal[$env]: deploy a release with: ENV=$env scripts/rehearsal.sh deploy -e deploy_version=1.0.0"
    ;;
  site)
    "${site[@]}" "$@"
    ;;
  deploy)
    # The controller cannot resolve ECR's name here: it pushes to the stand-in's
    # address with the rehearsal's CA; the hosts pull by ECR's name, as on AWS.
    ansible-playbook playbooks/deploy.yml "${inventory[@]}" -e "deploy_registry=$ecr_address:443" \
      -e deploy_registry_ecr=false -e "deploy_registry_ca=$PWD/$state/ecr/ca.crt" \
      -e "deploy_registry_pull_host=$(cat "$state/ecr/name")" "$@"
    ;;
  down)
    down
    echo "rehearsal[$env]: removed"
    ;;
  *)
    echo "usage: ENV=staging|prod $0 up|site|deploy|down [ansible-playbook arguments]" >&2
    exit 2
    ;;
esac
