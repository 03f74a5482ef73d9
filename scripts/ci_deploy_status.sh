#!/usr/bin/env bash
# Posts a deploy's result back to GitHub as the commit's status "deploy/<env>"
# (.github/workflows/deliver.yml; GH_TOKEN, GITHUB_REPOSITORY, GITHUB_SHA from
# the runner):  scripts/ci_deploy_status.sh <env> <success|failure|cancelled>
set -euo pipefail
env_name=$1 result=$2
case "$result" in
  success) state=success ;;
  cancelled) state=error ;;
  *) state=failure ;;
esac
gh api "repos/$GITHUB_REPOSITORY/statuses/$GITHUB_SHA" \
  -f state="$state" -f context="deploy/$env_name" \
  -f description="Deploy to $env_name: $result" \
  -f target_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID" >/dev/null
echo "deploy/$env_name: $state"
