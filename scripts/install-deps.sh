#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when missing.
# As root it runs apt-get itself; otherwise it prints the exact command and
# fails. lintian, rpm (rpmbuild) and systemd (systemd-analyze, sysusers) are
# for `make package` and its test; clang and libclang-rt-dev (libFuzzer) for
# `make fuzz`. moto (the AWS the tests run against) comes
# from Python: the python3 on PATH must import it.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev libssl-dev libxml2-dev libjson-c-dev libyaml-dev
  libsystemd-dev libsqlite3-dev libcunit1-dev
  valgrind clang libclang-rt-dev
  lintian rpm systemd man-db procps
)
[ "${1:-}" = "--list" ] && { printf '%s\n' "${packages[@]}"; exit 0; }

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "install-deps: missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! python3 -c 'import moto.server, boto3, botocore' 2>/dev/null; then
  echo "install-deps: python3 ($(command -v python3 || echo 'not found')) cannot import moto, boto3 and botocore;" >&2
  echo "  the tests run against a local moto server: pip install 'moto[server]' boto3" >&2
  exit 1
fi
