#!/usr/bin/env bash
# Installs what Lumen needs on Debian or Ubuntu (Node.js >= 20.19 already there), as root or
# through sudo. Idempotent: it only installs and starts what is missing, so run it again any time.
#
#   scripts/setup.sh          what running Lumen needs: ffmpeg/ffprobe, exiftool, heif-convert,
#                             build tools for native modules, pnpm 10, the workspace's packages
#   scripts/setup.sh test     the above, plus what the tests need: sqlite3, Chromium, NATS with JetStream
#                             (started on 127.0.0.1:4222), PostgreSQL (started, with a role and a
#                             database `lumen_test` for the tests)
#
# The README's two commands are `scripts/setup.sh && pnpm start` and
# `scripts/setup.sh test && pnpm test`; `.ci/run` runs the second.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

mode=${1:-run}
case "$mode" in
  run | test) ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

log() { printf '\n== %s\n' "$*"; }
warn() { printf 'setup: warning: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Root for system changes: ourselves when root, else sudo when there is one.
if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
elif have sudo; then
  as_root() { sudo "$@"; }
else
  as_root() { die "root is needed for: $* (run this as root, or install sudo)"; }
fi

# 1. Node.js: the one thing this script expects to be there.
have node || die "Node.js >= 20.19 is required (https://nodejs.org/en/download, e.g. NodeSource's Debian packages)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "Node.js >= 20.19 is required; this one is $(node --version)"

# 2. System packages, only those whose command is missing.
packages=()
need() { have "$1" || packages+=("$2"); }
need ffmpeg ffmpeg
need ffprobe ffmpeg
need exiftool libimage-exiftool-perl
need heif-convert libheif-examples
need setpriv util-linux
# better-sqlite3 compiles from source when no prebuilt binary fits this platform and Node.
need make make
need g++ g++
need python3 python3

nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) >/dev/null 2>&1; }
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) >/dev/null 2>&1; }
nats_binary() { command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; }; }
chromium_path() { printf '%s\n' "${CHROMIUM_PATH:-/usr/bin/chromium}"; }

if [ "$mode" = test ]; then
  # The sqlite3 shell: integrity checks of a killed watcher's file, the tag-restore script's test.
  need sqlite3 sqlite3
  [ -x "$(chromium_path)" ] || packages+=(chromium)
  nats_up || [ -n "$(nats_binary)" ] || packages+=(nats-server)
  pg_up || have pg_ctlcluster || packages+=(postgresql)
fi

if [ ${#packages[@]} -gt 0 ]; then
  have apt-get || die "apt-get not found: this script knows Debian and Ubuntu only; install these yourself: ${packages[*]}"
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  log "apt-get install ${packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  installable=()
  for p in "${packages[@]}"; do
    # Ubuntu ships Chromium as a snap only: say so instead of failing the whole install.
    if apt-cache show "$p" >/dev/null 2>&1; then installable+=("$p"); else warn "no apt package $p here"; fi
  done
  if [ ${#installable[@]} -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${installable[@]}" >/dev/null
  fi
fi
have ffmpeg && have ffprobe || die "ffmpeg and ffprobe are required and could not be installed"

# 3. pnpm 10 and the workspace's packages.
pnpm_major() { pnpm --version 2>/dev/null | cut -d. -f1; }
if ! have pnpm || [ "$(pnpm_major)" -lt 10 ]; then
  log "npm install --global pnpm@10"
  if [ -w "$(npm config get prefix)" ]; then npm install --global pnpm@10 >/dev/null; else as_root npm install --global pnpm@10 >/dev/null; fi
  hash -r
  have pnpm || die "pnpm was installed but is not on PATH (npm's global bin folder: $(npm config get prefix)/bin)"
fi
log "pnpm install"
pnpm install --frozen-lockfile

[ "$mode" = test ] || { log "ready: start Lumen with pnpm start"; exit 0; }

# 4. NATS with JetStream on 127.0.0.1:4222 (the tests use a real server).
if ! nats_up; then
  nats=$(nats_binary) || true
  [ -n "$nats" ] || die "nats-server is not installed and could not be installed"
  log "starting $nats with JetStream on 127.0.0.1:4222"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec "$nats" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
  for _ in $(seq 1 50); do nats_up && break; sleep 0.2; done
  nats_up || die "NATS did not start on 127.0.0.1:4222"
fi
# The server's first line (INFO {...}) says whether JetStream is on.
info=$( (exec 3<>/dev/tcp/127.0.0.1/4222 && IFS= read -r -t 3 line <&3 && printf '%s' "$line") 2>/dev/null || true)
case "$info" in
  *'"jetstream":true'*) ;;
  *) warn "the NATS server on 127.0.0.1:4222 runs without JetStream: restart it with -js, or the bus tests fail" ;;
esac

# 5. PostgreSQL on 127.0.0.1:5432, and the role the tests log in as (see packages/test-support).
if ! pg_up && have pg_ctlcluster; then
  cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1 " " $2 }')
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    log "creating the PostgreSQL $version cluster main"
    as_root pg_createcluster "$version" main >/dev/null
    cluster="$version main"
  fi
  log "starting PostgreSQL $cluster"
  # shellcheck disable=SC2086 # two words on purpose: version and name
  as_root pg_ctlcluster --skip-systemctl-redirect $cluster start || true
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
fi
pg_up || die "PostgreSQL is not reachable at 127.0.0.1:5432 and could not be started"

if [ -n "${LUMEN_TEST_POSTGRES_URL:-}" ]; then
  log "tests use LUMEN_TEST_POSTGRES_URL (no test role created)"
elif id postgres >/dev/null 2>&1 && have psql; then
  if [ "$(id -u)" -eq 0 ]; then as_postgres() { runuser -u postgres -- "$@"; }; else as_postgres() { sudo -u postgres "$@"; }; fi
  psql_admin() { (cd / && as_postgres psql -v ON_ERROR_STOP=1 -qtAX "$@"); }
  ensure_test_role() {
    if [ "$(psql_admin -c "select 1 from pg_roles where rolname = 'lumen_test'")" != 1 ]; then
      log "creating the PostgreSQL role lumen_test (may create databases; password lumen_test)"
      psql_admin -c "create role lumen_test login createdb password 'lumen_test'" || return 1
    fi
    if [ "$(psql_admin -c "select 1 from pg_database where datname = 'lumen_test'")" != 1 ]; then
      log "creating the PostgreSQL database lumen_test"
      psql_admin -c "create database lumen_test owner lumen_test" || return 1
    fi
    PGPASSWORD=lumen_test PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p 5432 -U lumen_test -d lumen_test -qtAXc 'select 1' >/dev/null
  }
  ensure_test_role ||
    warn "the role lumen_test could not be set up or cannot log in at 127.0.0.1:5432 (pg_hba.conf?): the PostgreSQL tests will fail, naming it"
else
  warn "PostgreSQL at 127.0.0.1:5432 is not a local Debian cluster: create a role that may create databases and set LUMEN_TEST_POSTGRES_URL"
fi

# 6. Chromium for the browser test.
[ -x "$(chromium_path)" ] ||
  warn "Chromium is not at $(chromium_path): install it and set CHROMIUM_PATH, or the browser test fails (and says so)"

log "ready: run the tests with pnpm test"
