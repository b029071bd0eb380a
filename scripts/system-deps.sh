#!/bin/bash
# Installs the Debian packages the conformance tests run: the CNI reference
# plugins, User-Mode Linux (for a kernel with ipvlan) and the network tools.
set -euo pipefail
need=()
[[ -x /usr/lib/cni/ipvlan ]] || need+=(containernetworking-plugins)
[[ -x /usr/bin/linux.uml ]] || need+=(user-mode-linux)
command -v insmod >/dev/null || need+=(kmod)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v curl >/dev/null || need+=(curl)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${need[*]} and cannot install them here (needs root and apt); conformance tests will skip" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
