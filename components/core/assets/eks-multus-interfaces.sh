#!/bin/bash
# eks-multus: give every multus ENI a stable alternative name and bring its link up.
#
# Kernel names of secondary ENIs differ per AMI and instance family (ens6,
# eth1, enp40s0, ...). The device index of an ENI does not: IMDS maps each
# MAC to it. This script reads "<device-index> <name>" lines, waits (bounded)
# until every listed ENI is present, adds the name as an altname, and sets the
# link up. It is idempotent and runs at every boot, before kubelet.
set -uo pipefail

CONF=${EKS_MULTUS_INTERFACES_CONF:-/etc/eks-multus/interfaces}
IMDS=${EKS_MULTUS_IMDS_ENDPOINT:-http://169.254.169.254}
WAIT_SECONDS=${EKS_MULTUS_WAIT_SECONDS:-180}
SYSFS_NET=${EKS_MULTUS_SYSFS_NET:-/sys/class/net}

log() { echo "eks-multus-interfaces: $*" >&2; }

imds_token() {
  curl -sf --max-time 3 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$IMDS/latest/api/token"
}

imds_get() {
  curl -sf --max-time 3 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"
}

interface_with_mac() {
  local dev
  for dev in "$SYSFS_NET"/*; do
    if [[ "$(cat "$dev/address" 2>/dev/null)" == "$1" ]]; then
      basename "$dev"
      return 0
    fi
  done
  return 1
}

# Prints the kernel name a (possibly alternative) name resolves to.
resolve_name() {
  ip -o link show dev "$1" 2>/dev/null | awk -F': ' '{print $2; exit}' | cut -d@ -f1
}

deadline=$((SECONDS + WAIT_SECONDS))
while :; do
  pending=()
  declare -A mac_of_index=()
  if TOKEN=$(imds_token); then
    for mac in $(imds_get network/interfaces/macs/); do
      mac=${mac%/}
      if index=$(imds_get "network/interfaces/macs/$mac/device-number"); then
        mac_of_index[$index]=$mac
      fi
    done
  fi
  while read -r index name _; do
    [[ -z "${index:-}" || "$index" == \#* ]] && continue
    mac=${mac_of_index[$index]:-}
    if [[ -z "$mac" ]] || ! dev=$(interface_with_mac "$mac"); then
      pending+=("$index:$name")
      continue
    fi
    current=$(resolve_name "$name")
    if [[ -z "$current" ]]; then
      ip link property add dev "$dev" altname "$name" || { log "cannot add altname $name to $dev"; exit 1; }
    elif [[ "$current" != "$dev" ]]; then
      log "name $name already belongs to $current, not to $dev (device index $index)"
      exit 1
    fi
    ip link set dev "$dev" up || { log "cannot set $dev up"; exit 1; }
    log "device index $index: $dev ($mac) is $name, up"
  done < "$CONF"
  unset mac_of_index
  if [[ ${#pending[@]} -eq 0 ]]; then
    exit 0
  fi
  if (( SECONDS >= deadline )); then
    log "gave up after ${WAIT_SECONDS}s waiting for device index:name ${pending[*]}"
    exit 1
  fi
  sleep 2
done
