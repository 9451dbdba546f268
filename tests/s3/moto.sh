#!/usr/bin/env bash
# The S3-compatible server of the blob adapter's tests: moto (PyPI, pinned with every dependency
# in requirements.txt), installed into tests/s3/.venv (git-ignored) on first use and reused while
# the pins match. No Docker, no internet but PyPI.
#
#   tests/s3/moto.sh install            installs (or checks) the venv and prints moto_server's path
#   tests/s3/moto.sh serve <port>       installs, then runs moto_server on 127.0.0.1:<port>
#
# crates/blobs/tests/s3.rs runs `install`, then starts moto_server on a free port itself and
# stops it when the test ends.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

install() {
  if [ ! -x "$VENV/bin/moto_server" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/requirements.installed"; then
    echo "installing moto (pinned) into $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" >&2
    cp "$HERE/requirements.txt" "$VENV/requirements.installed"
  fi
  echo "$VENV/bin/moto_server"
}

case "${1:-}" in
  install) install ;;
  serve)
    server="$(install)"
    exec "$server" -H 127.0.0.1 -p "${2:?port}"
    ;;
  *) echo "usage: $0 install | serve <port>" >&2; exit 2 ;;
esac
