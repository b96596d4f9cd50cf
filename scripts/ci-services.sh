#!/usr/bin/env bash
# Makes sure the servers the source tests start for themselves are installed: PostgreSQL (initdb, pg_ctl and
# pg_stat_statements, all in Debian's server package), Prometheus and the node exporter, redis-server and HAProxy. Only what is missing is
# installed, with apt-get; nothing is started or enabled as a system service (the tests run their own copies on
# free 127.0.0.1 ports). Safe to run again: with everything present it only checks and exits.
set -euo pipefail

missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then missing+=(postgresql); fi
if ! command -v prometheus >/dev/null 2>&1; then missing+=(prometheus); fi
# The Redis source tests start their own redis-server on a free port.
if ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
# The environment-check tests put three app instances behind a real load balancer.
if ! command -v haproxy >/dev/null 2>&1; then missing+=(haproxy); fi
# The chart test renders the report's Mermaid charts in headless Chromium.
if ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
# The report's ✅ ❌ ⚠️ in the screenshots of docs/ (report.html and the comment) need a colour emoji font.
if [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then missing+=(fonts-noto-color-emoji); fi
if ! command -v prometheus-node-exporter >/dev/null 2>&1 && ! command -v node_exporter >/dev/null 2>&1; then
  missing+=(prometheus-node-exporter)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "ci-services: postgresql, prometheus, prometheus-node-exporter, redis-server, haproxy, chromium and an emoji font are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "ci-services: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi

echo "ci-services: installing ${missing[*]}"
# Debian starts a package's service on install; policy-rc.d answering 101 ("action forbidden") prevents that,
# so a CI machine with systemd does not end up with a Prometheus on :9090, a PostgreSQL on :5432 or a Redis on :6379.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=true
fi
cleanup() { if [ "$own_policy" = true ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || { echo "ci-services: initdb still missing" >&2; exit 1; }
command -v prometheus >/dev/null || { echo "ci-services: prometheus still missing" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "ci-services: redis-server still missing" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "ci-services: haproxy still missing" >&2; exit 1; }
echo "ci-services: done"
