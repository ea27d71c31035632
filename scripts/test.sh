#!/usr/bin/env bash
# Runs the whole test suite (unit + end-to-end) from a clean or incremental debug build.
# Installs what a fresh machine of this kind lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/include/sqlite3.h ] || need_apt+=(libsqlite3-dev)
# The PostgreSQL tests start a private cluster of their own (Tests/TestSupport/PostgresServer.swift).
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
# The console's browser test drives Debian's Chromium through its driver (Tests/browser/console_check.py).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  if [[ " ${need_apt[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    # Only the binaries are wanted: no system-wide cluster started on port 5432.
    mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# The official openai and anthropic SDKs (end-to-end SDK test), jsonschema (artifacts checked by an independent
# validator) and selenium (the console's browser test; it uses the system's chromium, never downloads one).
sdk=.build/sdk-venv
if ! "$sdk/bin/python" -c "import openai, anthropic, jsonschema, selenium" 2>/dev/null; then
  echo "installing openai, anthropic, jsonschema and selenium into $sdk"
  mkdir -p .build
  python3 -m venv "$sdk"
  "$sdk/bin/pip" install -q --disable-pip-version-check openai anthropic jsonschema selenium
fi

# The tests build in a folder of their own: a test build compiles every module with testing enabled, so sharing
# `.build` with `swift run` would recompile the dependencies each time one switches between running and testing.
scratch=(--scratch-path .build-tests)
swift build "${scratch[@]}" --build-tests
if [ $# -gt 0 ]; then
  swift test "${scratch[@]}" --skip-build "$@"
  exit
fi
# Unit suites first, in parallel; then the process-level end-to-end suite (daemons, kill -9, SDKs) on its own,
# so its disk and CPU load does not starve the unit suites' lease and timeout checks on a 2-core machine. The
# end-to-end tests run one at a time: each starts daemons (and, on PostgreSQL, a server's worth of connections), and
# several at once on two cores missed the timing their checks allow (a client's hang-up, a kill landing mid-run).
swift test "${scratch[@]}" --skip-build --skip EndToEndTests
swift test "${scratch[@]}" --skip-build --filter EndToEndTests --no-parallel
