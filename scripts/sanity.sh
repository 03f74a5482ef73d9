#!/usr/bin/env bash
# ansible-test sanity on the collection. ansible-test needs the collection at
# .../ansible_collections/onlywave/infra, so it runs on a copy of the tracked
# files. Its test tools (pinned by ansible-test, from PyPI) go into a virtualenv
# of their own, .cache/sanity-venv; ansible-test's --venv would fetch pip from
# a host this network does not reach.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$PWD/.cache/sanity-venv
core=$(grep -E '^ansible-core==' requirements.txt)
if [ ! -x "$venv/bin/ansible-test" ] || ! "$venv/bin/pip" show -q "${core%%==*}" 2>/dev/null | grep -q .; then
  echo "sanity: creating $venv with $core"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "$core"
fi

# ansible-test bootstraps pip in its test virtualenvs with a script it would
# download; give it ours (see scripts/sanity/get_pip.py).
pip_version=$(grep -oP "pip='\K[0-9.]+" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py)
mkdir -p ~/.ansible/test/cache
cp scripts/sanity/get_pip.py ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

work=.cache/sanity/ansible_collections/onlywave/infra
rm -rf .cache/sanity
mkdir -p "$work"
# Only what the collection ships (plugins, roles, meta, docs); ansible-test
# ignores the rest of a playbook project poorly.
git ls-files -z --cached --others --exclude-standard -- plugins meta roles galaxy.yml README.md tests/unit \
  | xargs -0 cp --parents -t "$work"
# The collections our plugins import (module_utils, doc fragments), beside ours.
site=$(.venv/bin/python -c 'import ansible_collections.amazon.aws, os; print(os.path.dirname(ansible_collections.amazon.aws.__path__[0]))')
mkdir -p .cache/sanity/ansible_collections/amazon
cp -r "$site/aws" .cache/sanity/ansible_collections/amazon/aws
cd "$work"
git init -q . && git add -A
echo "sanity: ansible-test sanity (python 3.11)"
"$venv/bin/ansible-test" sanity --local --requirements --python 3.11 --color yes "$@"
