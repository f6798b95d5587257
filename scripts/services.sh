#!/usr/bin/env bash
# Installs the servers the storage tests start (tests/storage/conftest.py only starts and
# stops them): Redis and PostgreSQL from Debian's packages, Azurite from npm into .cache/npm.
# moto's S3 server comes with the `test` dependency group. `make services` runs this, and
# `make test` runs it first. What is installed already is left alone.
#
# Where something cannot be installed (not root, no apt-get or npm) it says so; with CI
# set that is an error, elsewhere the tests that need the server skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE_VERSION=3.35.0
failed=()

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }

apt_install() {
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        failed+=("$* (needs root and apt-get)")
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    local install=(apt-get install -y -q --no-install-recommends "$@")
    "${install[@]}" >/dev/null || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; } ||
        failed+=("$* (apt-get install failed)")
}

packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
have_postgres || packages+=(postgresql)
if ((${#packages[@]})); then
    echo "services: installing ${packages[*]} with apt-get"
    apt_install "${packages[@]}"
fi

azurite=.cache/npm/node_modules/.bin/azurite-blob
if [[ ! -x $azurite ]]; then
    if command -v npm >/dev/null; then
        echo "services: installing azurite@$AZURITE_VERSION with npm into .cache/npm"
        npm install --prefix .cache/npm --no-audit --no-fund --silent "azurite@$AZURITE_VERSION" ||
            failed+=("azurite (npm install failed)")
    else
        failed+=("azurite (needs npm)")
    fi
fi

if ((${#failed[@]})); then
    printf 'services: could not install %s\n' "${failed[@]}" >&2
    if [[ -n ${CI:-} ]]; then
        exit 1
    fi
    echo "services: the tests that need them will skip (CI is not set)" >&2
fi
echo "services: redis-server $(command -v redis-server || echo missing)," \
    "postgres $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | tail -1 || echo missing)," \
    "azurite $([[ -x $azurite ]] && echo "$azurite" || echo missing)"
