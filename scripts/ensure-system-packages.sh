#!/usr/bin/env bash
# Install the Debian packages the tests need, once, on a fresh machine (root or sudo).
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
command -v msgfmt >/dev/null || need+=(gettext)
command -v npm >/dev/null || need+=(npm)  # installs axe-core for the browser tests
# Generated documents are checked as printed: LibreOffice converts them to PDF, poppler reads
# the PDF back, Liberation Serif stands in for Times New Roman with Vietnamese diacritics.
# (The -nogui packages have no swriter/scalc launchers: look for their filter libraries.)
[[ -e /usr/lib/libreoffice/program/libswdlo.so ]] || need+=(libreoffice-writer-nogui)
[[ -e /usr/lib/libreoffice/program/libscdlo.so ]] || need+=(libreoffice-calc-nogui)
command -v pdftotext >/dev/null || need+=(poppler-utils)
[[ -e /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ]] || need+=(fonts-liberation2)
if ((${#need[@]})); then
  echo "Installing Debian packages: ${need[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
