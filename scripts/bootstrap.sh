#!/usr/bin/env bash
# Installs what `make run` and `make test` need, and nothing twice: Debian packages (as root),
# then a .venv with the pinned Python dependencies. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(python3 python3-venv python3-pip python3-dev gcc postgresql wrk openssl ca-certificates
  qemu-system-x86 qemu-utils util-linux dosfstools mtools syslinux syslinux-common busybox-static openssh-client
  iproute2 nftables dnsmasq-base softhsm2)  # busybox-static also gives the tests busybox udhcpc and ping;
  # softhsm2: a PKCS#11 token for the key manager's master KEK in tests

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
fi
# The tiny guest is built from Debian packages fetched with `apt-get download`: it needs package lists.
lists_empty=false
compgen -G "/var/lib/apt/lists/*Packages*" >/dev/null || lists_empty=true
if [[ $(id -u) -eq 0 ]] && { ((${#missing[@]})) || $lists_empty; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not root, so not installing Debian packages: ${missing[*]} (some features may be skipped)"
  fi
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.andromede-deps
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "bootstrap: installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
