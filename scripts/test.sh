#!/usr/bin/env bash
# Roster's test command: makes sure what the tests talk to is there — a
# PostgreSQL server on 127.0.0.1:5432, Debian's Chromium for the console's
# browser tests and OpenLDAP's slapd for the LDAP connector's (the tests start
# their own slapd processes) — then runs every test with the race detector,
# and the end-to-end suite a second time on PostgreSQL.
#
# As root on Debian it installs Chromium and slapd and starts the local
# PostgreSQL cluster when they are missing; elsewhere it says what to do.
#
# A test whose piece is missing skips and says what to install, unless
# ROSTER_TEST_REQUIRE_ALL=1 (internal/testenv): then it fails. Under CI (CI
# set, as .ci/run is run) the script sets it, so CI runs every test and a
# missing piece stops the script before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

case "${CI:-}" in
  "" | 0 | false) ;;
  *) export ROSTER_TEST_REQUIRE_ALL=1 ;;
esac

# missing reports a piece this script could not provide: an error when every
# test must run, otherwise a warning that its tests will skip.
missing() {
  case "${ROSTER_TEST_REQUIRE_ALL:-}" in
    "" | 0 | false | FALSE | False | f | F)
      echo "warning: $1; its tests will skip" >&2 ;;
    *)
      echo "$1 (ROSTER_TEST_REQUIRE_ALL is set: every test must run)" >&2
      exit 1 ;;
  esac
}

if ! command -v "${ROSTER_TEST_CHROMIUM:-chromium}" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    missing "The console's browser tests need Chromium: apt-get install chromium"
  fi
fi

if ! [ -x "${ROSTER_TEST_SLAPD:-/usr/sbin/slapd}" ] || ! command -v ldapmodify >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing OpenLDAP (slapd, ldap-utils) for the LDAP connector's tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null
  else
    missing "The LDAP connector's tests need OpenLDAP: apt-get install slapd ldap-utils"
  fi
fi

# axe-core checks every console screen's accessibility in the browser tests.
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/roster-test"
if [ -z "${ROSTER_TEST_AXE:-}" ] && ! [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing axe-core for the console's accessibility checks"
    mkdir -p "$axe_dir"
    npm install --prefix "$axe_dir" --no-audit --no-fund axe-core@4 >/dev/null
  else
    missing "The console's accessibility checks need axe-core: install Node.js and npm (apt-get install npm)"
  fi
fi

export ROSTER_TEST_DATABASE_URL="${ROSTER_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
if ! pg_isready -q -d "$ROSTER_TEST_DATABASE_URL" 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -d "$ROSTER_TEST_DATABASE_URL" && break; sleep 1; done
  fi
  if ! pg_isready -q -d "$ROSTER_TEST_DATABASE_URL" 2>/dev/null; then
    missing "The tests need PostgreSQL at $ROSTER_TEST_DATABASE_URL (set ROSTER_TEST_DATABASE_URL, or start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)"
  fi
fi

echo "== go test -race ./..."
# The crash tests build cmd/roster and run it: go test's cache cannot see a
# change to the code they run (their package imports none of it), so a
# cached pass would stand for code they never ran. They always run.
go test -race -timeout 30m $(go list ./... | grep -v '/crashtest$')
go test -race -count=1 -timeout 30m ./crashtest
echo "== the end-to-end suite on PostgreSQL"
ROSTER_TEST_E2E_DB=postgres go test -race -count=1 -timeout 30m ./e2e

# Under CI, each fuzz target runs for a bounded time after the tests (about a
# minute and a half in all). Minimizing a new input is capped too: the
# engine's state carries over between FuzzApplyTwice's inputs, so an input's
# coverage is not exactly repeatable and minimizing would run its full minute.
case "${CI:-}" in
  "" | 0 | false) ;;
  *)
    for target in ./declarative:FuzzParseContract ./http:FuzzRequestBody ./difftest:FuzzApplyTwice; do
      pkg="${target%%:*}" name="${target#*:}"
      corpus="$pkg/testdata/fuzz/$name"
      before=$(ls "$corpus" 2>/dev/null | sort || true)
      echo "== fuzz $name ($pkg) for 20s"
      status=0
      go test -run '^$' -fuzz="^$name\$" -fuzztime=20s -fuzzminimizetime=3s "$pkg" 2>&1 | tee /tmp/roster-fuzz.log || status=$?
      after=$(ls "$corpus" 2>/dev/null | sort || true)
      if [ "$status" -ne 0 ]; then
        # Go's fuzzing coordinator can end a duration-bounded run with a bare
        # "context deadline exceeded" when a worker is mid-input at the
        # deadline (golang/go#48127-style race on a loaded machine). A real
        # finding always writes a reproducer to testdata/fuzz; only that fails.
        if [ "$before" = "$after" ] && grep -q 'context deadline exceeded' /tmp/roster-fuzz.log \
          && ! grep -qE 'panic:|Failing input written' /tmp/roster-fuzz.log; then
          echo "fuzz $name: the run ended on the fuzz coordinator's deadline with no failing input written; not a finding"
        else
          echo "fuzz $name found a failing input:"; comm -13 <(echo "$before") <(echo "$after")
          exit "$status"
        fi
      fi
    done
    ;;
esac
