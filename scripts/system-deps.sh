#!/usr/bin/env bash
# Install the system packages scrkb uses beside Python: Tesseract (OCR of scanned
# pages), Chromium (the browser tests) and npm (which fetches axe-core, the browser
# tests' accessibility audit, into .cache/). Does nothing when they are present.
set -euo pipefail
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "scrkb needs: ${missing[*]} (run as root or install them with apt-get)" >&2; exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
