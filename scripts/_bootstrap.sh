# shellcheck shell=bash
# Shared set-up for scripts/run-app and scripts/run-tests (sourced, not run).
# Idempotent and quick when nothing changed: installs missing Debian packages when
# running as root with apt, creates .venv, and (re)installs the project when
# pyproject.toml changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

log() { printf '[trustone setup] %s\n' "$*" >&2; }

apt_install() {
    # $@: Debian package names. Installs only the missing ones.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        log "missing Debian packages (install them as root): sudo apt-get install ${missing[*]}"
        return 1
    fi
}

ensure_venv() {
    # $1: pip extras, e.g. "test" or "" (runtime only).
    local extras="$1" target="$ROOT" stamp
    [ -n "$extras" ] && target="$ROOT[$extras]"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment in .venv"
        "$PY" -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    fi
    stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-${extras:-runtime}"
    if [ ! -f "$stamp" ]; then
        log "installing trustone-simulator$([ -n "$extras" ] && echo "[$extras]") into .venv (first run takes a minute)"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$target"
        touch "$stamp"
    fi
}
