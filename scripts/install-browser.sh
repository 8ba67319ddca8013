#!/usr/bin/env bash
# Install a headless-capable browser and its WebDriver for the report tests (tests/test_report.py)
# and the JupyterLab explorer test (tests/test_explorer_jupyterlab.py), without surprises.
#
#   bash scripts/install-browser.sh
#
# In order, stopping at the first that works:
#   1. a Chromium (chromium, chromium-browser, google-chrome) and chromedriver are already on PATH:
#      nothing to do (well under a second);
#   2. Debian/Ubuntu, as root (or with password-less sudo): apt-get install -y chromium
#      chromium-driver (apt-get update first only if apt has no candidate for them yet);
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

find_driver() {
    command -v chromedriver 2>/dev/null || { [ -x /usr/bin/chromedriver ] && echo /usr/bin/chromedriver; }
}

if path=$(find_browser) && driver=$(find_driver); then
    echo "install-browser: $path and $driver are installed"
    exit 0
fi

sudo=""
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "install-browser: installing Debian's chromium needs root; run as root:" \
                 "apt-get install -y chromium chromium-driver" >&2
            exit 2
        fi
    fi
    # apt-get update only when apt has no candidate for the package (a fresh machine's lists).
    if ! apt-cache policy chromium-driver 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "install-browser: apt-get update" >&2
        $sudo apt-get update -qq >&2 || { echo "install-browser: apt-get update failed" >&2; exit 2; }
    fi
    echo "install-browser: apt-get install -y chromium chromium-driver" >&2
    if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            chromium chromium-driver >&2 && path=$(find_browser) && driver=$(find_driver); then
        echo "install-browser: $path and $driver are installed"
        exit 0
    fi
    echo "install-browser: apt-get install chromium chromium-driver failed (see above)" >&2
    exit 2
fi

echo "install-browser: no Chromium with chromedriver found and no apt-get here; install Chromium" \
     "(or Google Chrome) and the matching chromedriver so that 'chromium' (or 'chromium-browser' /" \
     "'google-chrome') and 'chromedriver' are on PATH" >&2
exit 2
