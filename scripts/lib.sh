# Shared by scripts/test, scripts/demo and scripts/sandbox. Source it; it defines functions only.

# The Debian packages the project runs against (see DESIGN.md, "Real components").
OVN_PACKAGES=(ovn-central ovn-host openvswitch-switch openvswitch-pki ethtool iproute2 bc)

# One executable per package, to tell whether the package is installed without asking dpkg.
OVN_TOOLS=(ovn-northd ovn-controller ovs-vswitchd ovs-pki ethtool ip bc ovsdb-server ovn-nbctl ovn-trace)

# The pip packages the anchor benchmarks need (../shared/anchors/README.md), pinned.
ANCHOR_PIP_PACKAGES=(ovsdbapp==3.0.0 ovs==4.0.0)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# Installs the OVS/OVN packages with apt-get, only when one of their tools is missing.
install_system_packages() {
    local missing=()
    for tool in "${OVN_TOOLS[@]}"; do have "$tool" || missing+=("$tool"); done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    log "missing ${missing[*]}: installing ${OVN_PACKAGES[*]}"
    [ "$(id -u)" -eq 0 ] || die "installing packages needs root: apt-get install -y ${OVN_PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${OVN_PACKAGES[@]}"
}

# Installs the pinned anchor packages with pip, only when they are not already there.
install_anchor_pip_packages() {
    local python=${PYTHON:-python3}
    if "$python" - "${ANCHOR_PIP_PACKAGES[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name) != wanted:
        sys.exit(1)
PY
        return 0
    fi
    log "installing ${ANCHOR_PIP_PACKAGES[*]}"
    if ! "$python" -m pip --version >/dev/null 2>&1; then
        apt-get install -y -q python3-pip
    fi
    # Debian marks its Python as externally managed; these pins are for the benchmark anchors.
    "$python" -m pip install -q --break-system-packages "${ANCHOR_PIP_PACKAGES[@]}" 2>/dev/null ||
        "$python" -m pip install -q "${ANCHOR_PIP_PACKAGES[@]}"
}

# Polls a command until it succeeds, for at most $1 seconds; $2 describes what is awaited.
wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'error: timed out after %ss waiting for %s\n' "$timeout" "$what" >&2
            return 1
        fi
        sleep 0.1
    done
}
