#!/usr/bin/env bash
# Installs what the local stack and the tests need, once: Debian packages (MariaDB,
# Connector/J, Java 17 if missing), dynalite from npm, and the project's venv.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${M2D_VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v mariadbd >/dev/null || missing+=(mariadb-server)
[[ -f /usr/share/java/mariadb-java-client.jar ]] || missing+=(libmariadb-java)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v node >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # A temporary policy-rc.d keeps Debian from starting its own MariaDB service: we run ours.
  added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  [[ -z "$added_policy" ]] || as_root rm -f /usr/sbin/policy-rc.d
fi

NPM_DIR="${M2D_NPM_DIR:-$REPO/.stack/npm}"
if [[ ! -f "$NPM_DIR/node_modules/dynalite/cli.js" ]]; then
  echo "setup: installing dynalite from npm"
  mkdir -p "$NPM_DIR"
  npm install --no-audit --no-fund --loglevel=error --prefix "$NPM_DIR" dynalite@4 >/dev/null
fi

stamp="$VENV/.m2d-installed"
if [[ ! -f "$stamp" || "$REPO/setup.py" -nt "$stamp" ]]; then
  echo "setup: creating the venv at $VENV (pyspark 3.5, boto3, pymysql, pytest, chispa)"
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  # --no-compile: Python compiles (and caches) each module when it is first imported, so only
  # what runs is compiled, not all of pyspark's and botocore's files up front (a third of the install)
  "$VENV/bin/pip" install -q --no-compile -e "$REPO[test]"
  touch "$stamp"
fi
