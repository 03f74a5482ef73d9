#!/usr/bin/env bash
# Build the local systemd host image (molecule and the dev environment).
# FROM debian:bookworm where a registry answers, otherwise debootstrap + docker import.
# Skipped when the image is there and was built from the current images/host/.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
image=${HOST_IMAGE:-onlywave/host:bookworm}
packages=python3,python3-apt,sudo,systemd,systemd-sysv,procps,iproute2,ca-certificates
source_hash=$( (echo "$packages"; cd "$here/images/host" && find . -type f | sort | xargs sha256sum) | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "org.onlywave.source" }}' "$image" 2>/dev/null)" = "$source_hash" ]; then
  echo "image: $image is already there"
  exit 0
fi

if timeout 30 docker pull -q debian:bookworm >/dev/null 2>&1; then
  echo "image: building $image FROM debian:bookworm"
  docker build -t "$image" --label "org.onlywave.source=$source_hash" \
    --build-arg "PACKAGES=${packages//,/ }" "$here/images/host"
  exit 0
fi

echo "image: no registry answers; building $image with debootstrap (about a minute)"
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "image: installing Debian's debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 debootstrap
fi
root=$(mktemp -d /tmp/onlywave-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include="$packages" bookworm "$root" >/dev/null
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
mkdir -p "$root"/var/lib/apt/lists/partial
# No package lists: date the directory so apt's cache_valid_time sees them as stale.
touch -d @0 "$root"/var/lib/apt/lists
: >"$root/etc/machine-id"
cp -a "$here/images/host/rootfs/." "$root/"
tar -C "$root" -c . | docker import \
  -c 'ENV container=docker' \
  -c 'CMD ["/lib/systemd/systemd"]' \
  -c "LABEL org.onlywave.source=$source_hash" \
  - "$image" >/dev/null
echo "image: $image built"
