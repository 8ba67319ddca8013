#!/usr/bin/env bash
# Get the datasets that `make demo` and `make test` need, without surprises.
#
#   bash scripts/get-data.sh [NAME ...]      (default: FashionMNIST)
#
# For each dataset, in order, stopping at the first that works:
#   1. already here (any place nnlife looks, checksums OK): nothing to do (about a second);
#   2. FashionMNIST on Debian/Ubuntu, as root (or with password-less sudo):
#      apt-get install -y dataset-fashion-mnist   (apt-get update first only if apt does not know
#      the package yet); it installs the official files in /usr/share/datasets/fashion-mnist;
#   3. torchvision's downloader: nnlife data --download NAME (needs the internet);
#   4. otherwise nnlife's message naming every place looked at and the fixes; exit status 2.
# Python: $NNLIFE_PYTHON if set, else the checkout's .venv, else python3. (Not $PYTHON: the
# Makefile uses that name for the interpreter that creates the venv, which lacks nnlife's deps.)
set -u

cd "$(dirname "$0")/.." || exit 1
if [ -n "${NNLIFE_PYTHON:-}" ]; then
    py="$NNLIFE_PYTHON"
elif [ -x .venv/bin/python ]; then
    py=.venv/bin/python
else
    py=python3
fi

[ "$#" -gt 0 ] || set -- FashionMNIST

have() {  # quiet check: is the dataset here with good checksums?
    "$py" -m nnlife data "$1" >/dev/null 2>&1
}

apt_install() {  # apt_install PACKAGE: install a Debian package as root or with sudo -n
    local sudo=""
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
        sudo="sudo -n"
    fi
    # apt-get update only when apt has no candidate for the package (a fresh machine's lists).
    if ! apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "get-data: apt-get update" >&2
        $sudo apt-get update -qq >&2 || return 1
    fi
    echo "get-data: apt-get install -y $1" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >&2
}

status=0
for name in "$@"; do
    if have "$name"; then
        "$py" -m nnlife data "$name"
        continue
    fi
    lower=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')
    if [ "$lower" = fashionmnist ] && apt_install dataset-fashion-mnist && have "$name"; then
        "$py" -m nnlife data "$name"
        continue
    fi
    echo "get-data: $name: not here; downloading it with torchvision" >&2
    # On failure this prints nnlife's message (every place looked at, the commands that fix it).
    "$py" -m nnlife data --download "$name" || status=2
done
exit "$status"
