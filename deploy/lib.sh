# Shared set-up for deploy/up and deploy/test. Idempotent: every step checks before it acts.
# Supported: Debian 12+ and Ubuntu 22.04+, as root or with sudo.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
VAR="$ROOT/var"
DB_USER=anxin
DB_PASSWORD=anxin
export LANG=${LANG:-C.UTF-8}
export PATH="$VENV/bin:$PATH"
# Trust the system's certificate store, so pip works behind a TLS-inspecting proxy whose CA the
# administrator installed (common on office networks); on other machines it changes nothing.
if [ -z "${PIP_CERT:-}" ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  export PIP_CERT=/etc/ssl/certs/ca-certificates.crt
fi
# The browser tests (tests/browser/) drive the system's Chromium by its path (ANXIN_CHROMIUM,
# below): Playwright must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

unsupported() {
  cat >&2 <<MSG
This set-up script supports Debian 12+ and Ubuntu 22.04+ (apt), run as root or with sudo.
On another system, install these by hand, start them, then run the script again:
  - Python 3.11 with venv
  - PostgreSQL 14+ with PostGIS 3, listening on 127.0.0.1:5432, with a superuser role
    '$DB_USER' (password '$DB_PASSWORD') for development and tests
  - GDAL and GEOS libraries (Debian: gdal-bin)
  - Redis 6+ on 127.0.0.1:6379
  - for the browser tests, Chromium (ANXIN_CHROMIUM names its executable if it is not at
    /usr/bin/chromium) and a font with Chinese glyphs
Reason: $1
MSG
  exit 1
}

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  unsupported "not root and no sudo"
fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    "${SUDO[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

check_system() {
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 \
    || unsupported "apt-get not found"
  [ -r /etc/os-release ] || unsupported "no /etc/os-release"
  # shellcheck disable=SC1091
  . /etc/os-release
  case "${ID:-}:${ID_LIKE:-}" in
    debian:*|ubuntu:*|*:*debian*) ;;
    *) unsupported "this is ${PRETTY_NAME:-an unknown system}" ;;
  esac
  # The browser tests' Chromium, and a small font with Chinese glyphs for their screenshots
  # (WenQuanYi Micro Hei: 1.6 MB). Ubuntu ships Chromium as a snap only (its deb installs
  # snapd): there, point ANXIN_CHROMIUM at a Chromium, or the browser tests are skipped.
  BROWSER_PACKAGES=(chromium fonts-wqy-microhei)
  case "${ID:-}:${ID_LIKE:-}" in
    ubuntu:*|*:*ubuntu*) BROWSER_PACKAGES=(fonts-wqy-microhei) ;;
  esac
}

# The Chromium the browser tests launch, when ANXIN_CHROMIUM does not name one: the first of
# Debian's and Ubuntu's paths that exists (tests/browser/conftest.py looks there too when pytest
# runs without this set-up).
chromium_path() {
  local candidate
  for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_chromium() {
  if [ -n "${ANXIN_CHROMIUM:-}" ]; then
    [ -x "$ANXIN_CHROMIUM" ] || die "ANXIN_CHROMIUM=$ANXIN_CHROMIUM is not an executable"
  elif ! ANXIN_CHROMIUM=$(chromium_path); then
    unset ANXIN_CHROMIUM
    say "no Chromium: the browser tests are skipped, and fail under CI (set ANXIN_CHROMIUM)"
    return 0
  fi
  export ANXIN_CHROMIUM
}

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_system_packages() {
  check_system
  # gettext: msgfmt compiles the translation catalogues (locale/), and checks them in CI.
  apt_install ca-certificates locales procps gdal-bin gettext redis-server postgresql \
    postgresql-contrib "${BROWSER_PACKAGES[@]}"
  PY=$(find_python || true)
  if [ -z "$PY" ]; then
    apt_install python3.11 python3.11-venv 2>/dev/null || apt_install python3 python3-venv
    PY=$(find_python) || unsupported "Python 3.11 is not available from apt here"
  fi
  # Debian's python3 has venv only with python3.X-venv; a pyenv or source build has it built in.
  if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install "python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
  fi
  PG_VERSION=$(ls /usr/lib/postgresql/ | sort -n | tail -n 1)
  [ -n "$PG_VERSION" ] || die "PostgreSQL did not install"
  apt_install "postgresql-$PG_VERSION-postgis-3"
}

ensure_postgres() {
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PG_VERSION main$"; then
    say "creating PostgreSQL $PG_VERSION cluster"
    "${SUDO[@]}" pg_createcluster --locale C.UTF-8 "$PG_VERSION" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
    say "starting PostgreSQL $PG_VERSION"
    "${SUDO[@]}" pg_ctlcluster "$PG_VERSION" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL is not answering on 127.0.0.1:5432"
  # Development and test role: superuser so the test runner can create PostGIS in test_anxin.
  # Never do this in production (see README).
  as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
SQL
}

ensure_database() {
  local name=$1
  if ! as_postgres psql -tAq -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$name'" \
      | grep -q 1; then
    say "creating database $name"
    as_postgres createdb -E UTF8 -T template0 --locale=C.UTF-8 -O "$DB_USER" "$name"
  fi
  as_postgres psql -q -d "$name" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
}

# check_connection_budget NEEDED WHAT: refuse to start processes that could together open more
# database connections than PostgreSQL accepts (less its superuser reserve and a margin of
# MARGIN for migrations, psql and management commands): past it, connections fail at peak.
check_connection_budget() {
  local needed=$1 what=$2 margin=10 max reserved
  max=$(as_postgres psql -tAq -d postgres -c "SHOW max_connections")
  reserved=$(as_postgres psql -tAq -d postgres -c "SHOW superuser_reserved_connections")
  if ((needed + margin > max - reserved)); then
    die "these processes may open $needed database connections ($what), and PostgreSQL \
accepts $((max - reserved)) less a margin of $margin: raise max_connections, or lower \
ANXIN_WEB_WORKERS / ANXIN_WEB_DB_POOL (docs/serving.md)"
  fi
  say "database connections: at most $needed of $((max - reserved)) ($what)"
}

ensure_redis() {
  if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    say "starting Redis"
    mkdir -p "$VAR"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$VAR" \
      --logfile "$VAR/redis.log" --save "" --appendonly no
    for _ in $(seq 1 20); do
      redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
      sleep 0.5
    done
    die "Redis did not start; see $VAR/redis.log"
  fi
}

# Python packages come from the hashed lock only (requirements/dev.txt, made by deploy/lock), as
# wheels; then the project itself, editable, with no dependencies and the lock's setuptools as
# its build backend, so nothing unhashed is fetched. pip is the one the venv came with.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv in .venv"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.anxin-installed" want
  want=$(cd "$ROOT" && sha256sum pyproject.toml requirements/runtime.txt requirements/dev.txt \
    | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies from requirements/dev.txt"
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
    "${pip[@]}" install --require-hashes --only-binary :all: -r "$ROOT/requirements/dev.txt"
    "${pip[@]}" install --no-deps --no-build-isolation -e "$ROOT"
    echo "$want" > "$stamp"
  fi
}

# The translation catalogues of locale/ compiled to .mo (not committed); only ours: the walk for
# locale folders skips .venv and var. A .mo newer than its .po is left alone.
ensure_messages() {
  (cd "$ROOT" && DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-backend.settings.local} \
    python manage.py compilemessages --ignore=.venv --ignore=var --ignore=.git -v0)
}

setup_all() {
  local db=$1
  ensure_system_packages
  ensure_postgres
  ensure_redis
  ensure_database "$db"
  ensure_venv
  ensure_chromium
  mkdir -p "$VAR"
}
