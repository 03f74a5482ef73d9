#!/usr/bin/env bash
# The deploy step of .github/workflows/deliver.yml:
#   scripts/ci_deploy.sh <staging|prod> <version> [<digest>]
# With no digest it builds the API image, pushes it to ECR by digest and rolls it
# out; with one (prod) it rolls out exactly that image. The digest goes to the
# job's outputs. Secrets come from the environment and live in files only for
# the run: ANSIBLE_VAULT_PASSWORD, SSH_PRIVATE_KEY, DEPLOY_WEBHOOK_URL; ECR_REGISTRY.
set -euo pipefail
cd "$(dirname "$0")/.."
env_name=$1 version=$2 digest=${3:-}

make setup
secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT
printf '%s' "$ANSIBLE_VAULT_PASSWORD" >"$secrets/vault-pass"
printf '%s\n' "$SSH_PRIVATE_KEY" >"$secrets/ssh-key"
chmod 600 "$secrets/vault-pass" "$secrets/ssh-key"

args=(-i "inventories/$env_name" --vault-id "$env_name@$secrets/vault-pass" --private-key "$secrets/ssh-key"
  -e "deploy_version=$version" -e "deploy_registry=$ECR_REGISTRY" -e deploy_registry_ecr=true
  -e deploy_load_balancer=aws_target_group -e "deploy_webhook_url=$DEPLOY_WEBHOOK_URL"
  -e "deploy_status_dir=$PWD/.cache/deploys")
[ -z "$digest" ] || args+=(-e "deploy_digest=$digest")
.venv/bin/ansible-playbook playbooks/deploy.yml "${args[@]}"

digest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["digest"])' .cache/deploys/last.json)
echo "digest=$digest" >>"${GITHUB_OUTPUT:-/dev/null}"
