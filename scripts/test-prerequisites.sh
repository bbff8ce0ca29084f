#!/bin/sh
# What `npm test` needs beyond node_modules, installed when missing (npm runs this as `pretest`;
# .ci/run runs it first):
#   redis-server  every end-to-end test starts its own Redis processes (cluster tests start six);
#   chromium      the dashboard test drives Debian's chromium through playwright-core (playwright's
#                 own browser download is not used), at KILN_TEST_CHROMIUM or /usr/bin/chromium;
#   an S3 server  S3_ENDPOINT, a Docker engine (MinIO), or moto_server on PATH (Python's moto,
#                 from PyPI: Debian has no package of it, so pipx installs it).
# As root with apt-get, it installs what is missing and says what and why; otherwise, or with
# KILN_TEST_INSTALL=false, it names what is missing and the command that installs it, and exits 1
# before the suite starts.
set -eu

missing_apt=""
need_moto=false

if ! command -v redis-server >/dev/null 2>&1; then
  echo "test prerequisites: redis-server is missing (the end-to-end tests start their own Redis servers)"
  missing_apt="$missing_apt redis-server"
fi
# apt-get puts chromium at /usr/bin/chromium: another path named by KILN_TEST_CHROMIUM is the user's to fill
report_only=false
if [ -n "${KILN_TEST_CHROMIUM:-}" ] && [ ! -x "$KILN_TEST_CHROMIUM" ]; then
  echo "test prerequisites: KILN_TEST_CHROMIUM names $KILN_TEST_CHROMIUM, which is missing (the dashboard test drives it in headless mode)"
  report_only=true
elif [ -z "${KILN_TEST_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "test prerequisites: /usr/bin/chromium is missing (the dashboard test drives it in headless mode)"
  missing_apt="$missing_apt chromium"
fi
if [ -z "${S3_ENDPOINT:-}" ] && ! command -v moto_server >/dev/null 2>&1 &&
  ! (command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1); then
  echo "test prerequisites: no S3 server (S3_ENDPOINT unset, no Docker engine, no moto_server on PATH)"
  need_moto=true
fi
[ -z "$missing_apt" ] && [ "$need_moto" = false ] && [ "$report_only" = false ] && exit 0

packages="$missing_apt"
# pipx brings a Python that can hold moto apart from the system's (Debian refuses a global pip install)
if [ "$need_moto" = true ] && ! command -v pipx >/dev/null 2>&1; then packages="$packages pipx"; fi

if [ "$report_only" = true ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ "${KILN_TEST_INSTALL:-true}" = false ]; then
  [ -n "$packages" ] && echo "test prerequisites: install them with: sudo apt-get install -y$packages"
  [ "$need_moto" = true ] &&
    echo "test prerequisites: then an S3 server: pipx install 'moto[server]' (moto_server must be on PATH), or set S3_ENDPOINT"
  exit 1
fi

if [ -n "$packages" ]; then
  echo "test prerequisites: apt-get install$packages"
  apt-get update -qq
  # waits for another apt to finish instead of failing on its lock
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 $packages >/dev/null
fi
if [ "$need_moto" = true ]; then
  echo "test prerequisites: pipx install 'moto[server]' (moto_server into /usr/local/bin)"
  PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install 'moto[server]' || {
    echo "test prerequisites: pipx could not install moto from PyPI; set S3_ENDPOINT to an S3 server instead"
    exit 1
  }
fi
