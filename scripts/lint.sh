#!/usr/bin/env bash
# The project's gates: yamllint, ansible-lint (production profile), ruff, actionlint,
# syntax checks of every playbook and a listing of every inventory.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "lint: yamllint"
yamllint --strict .

echo "lint: ansible-lint (production profile)"
# The example staging and prod vaults must decrypt for ansible-lint to read them.
ANSIBLE_VAULT_IDENTITY_LIST=dev@inventories/dev.vault-pass,staging@tests/vault/staging.vault-pass,prod@tests/vault/prod.vault-pass \
  ansible-lint --strict

echo "lint: ruff"
ruff check .
ruff format --check .

echo "lint: actionlint (GitHub workflows)"
scripts/actionlint.sh

echo "lint: syntax check of every playbook"
for playbook in site.yml playbooks/*.yml; do
  ansible-playbook --syntax-check -i inventories/dev "$playbook" >/dev/null
done

echo "lint: every inventory lists"
for env in dev staging prod; do
  vault_args=()
  [ "$env" = dev ] || vault_args=(--vault-id "$env@tests/vault/$env.vault-pass")
  ansible-inventory -i "inventories/$env" "${vault_args[@]}" --list >/dev/null
done
echo "lint: passed"
