#!/bin/sh
# Install the Debian packages behind missing system programs, where this machine allows it.
#
#   sh tools/system_packages.sh "WHAT THEY ARE FOR" NEED:PACKAGE [NEED:PACKAGE ...]
#
# NEED is a command name (looked up on PATH) or an absolute file path. Whatever is missing is
# installed with apt-get when we are root or have passwordless sudo; otherwise this prints what
# will be skipped and the one command that would install it, and exits 0 (make goes on).
set -u
purpose=$1
shift
missing=""
for pair in "$@"; do
  need=${pair%%:*}
  package=${pair#*:}
  case $need in
    /*) [ -e "$need" ] && continue ;;
    *) command -v "$need" >/dev/null 2>&1 && continue ;;
  esac
  missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    sudo="none"
  fi
  if [ "$sudo" != none ]; then
    echo "installing$missing with apt-get ($purpose)"
    $sudo apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null &&
      exit 0
    echo "warning: apt-get could not install$missing; $purpose will be skipped"
    exit 0
  fi
  echo "warning:$missing not installed, so $purpose will be skipped;" \
       "install with: sudo apt-get install$missing"
else
  echo "warning:$missing not installed, so $purpose will be skipped;" \
       "install them with your system's package manager (e.g. brew install$missing)"
fi
exit 0
