#!/usr/bin/env bash
# Install a headless-capable browser for the report tests (tests/test_report.py), without surprises.
#
#   bash scripts/install-browser.sh
#
# In order, stopping at the first that works:
#   1. a Chromium is already on PATH (chromium, chromium-browser, google-chrome): nothing to do
#      (well under a second);
#   2. Debian/Ubuntu, as root (or with password-less sudo): apt-get install -y chromium
#      (apt-get update first only if apt has no candidate for the package yet);
#   3. otherwise a message that says what to install; exit status 2.
# Idempotent: running it again finds the browser of step 1.
set -u

find_browser() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if path=$(find_browser); then
    echo "install-browser: $path is installed"
    exit 0
fi

sudo=""
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "install-browser: installing Debian's chromium needs root; run as root:" \
                 "apt-get install -y chromium" >&2
            exit 2
        fi
    fi
    # apt-get update only when apt has no candidate for the package (a fresh machine's lists).
    if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "install-browser: apt-get update" >&2
        $sudo apt-get update -qq >&2 || { echo "install-browser: apt-get update failed" >&2; exit 2; }
    fi
    echo "install-browser: apt-get install -y chromium" >&2
    if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            chromium >&2 && path=$(find_browser); then
        echo "install-browser: $path is installed"
        exit 0
    fi
    echo "install-browser: apt-get install chromium failed (see above)" >&2
    exit 2
fi

echo "install-browser: no Chromium found and no apt-get here; install Chromium or Google Chrome" \
     "so that 'chromium' (or 'chromium-browser' / 'google-chrome') is on PATH" >&2
exit 2
