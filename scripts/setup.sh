#!/usr/bin/env bash
# Installs everything vigil needs on Debian 12 (or 13) and is quick when it
# is already there. Runs as root or with sudo; never asks a question.
#
#   scripts/setup.sh            build dependencies, ONNX Runtime, Python tools
#   scripts/setup.sh --storage  also ReductStore (cargo build, once: about
#                               30 min on 2 cores)
#
# Everything that is not a Debian package lands under $VIGIL_DEPS
# (default /opt/vigil-deps), one folder per pinned version.
set -euo pipefail

VIGIL_DEPS=${VIGIL_DEPS:-/opt/vigil-deps}
ORT_VERSION=1.21.0
REDUCTSTORE_VERSION=1.21.4
# ReductStore 1.21 needs Rust >= 1.91 (its rust-version); Debian's is older,
# so then this toolchain, the one it was built with here, goes under
# $VIGIL_DEPS/rust.
REDUCTSTORE_MIN_RUST=1.91.0
RUST_VERSION=1.95.0
RUST_HOME="$VIGIL_DEPS/rust"
want_storage=0
[[ "${1:-}" == "--storage" ]] && want_storage=1

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# A rustup install outside PATH (a non-login shell in CI) still counts.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"

log() { printf '[setup] %s\n' "$*" >&2; }

debian_packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libopencv-dev libfaiss-dev libopenblas0-openmp libeigen3-dev libtorch-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libcli11-dev
  libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-venv clang-format libssl-dev ccache
)

install_debian_packages() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
      || missing+=("$p")
  done
  # npm comes from Debian unless a Node.js install already provides it.
  command -v npm >/dev/null || missing+=(npm)
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# ONNX Runtime: Debian 13 packages it; Debian 12 does not. There the shared
# library comes from the npm package onnxruntime-node and the headers from
# Debian 13's libonnxruntime-dev, fetched alone with a private apt state so
# that the system's sources never see Debian 13.
install_onnxruntime() {
  local prefix="$VIGIL_DEPS/onnxruntime-$ORT_VERSION"
  [[ -f "$prefix/lib/libonnxruntime.so" && \
     -f "$prefix/include/onnxruntime_cxx_api.h" ]] && return 0
  log "installing ONNX Runtime $ORT_VERSION into $prefix"
  local work
  work=$(mktemp -d)
  "${sudo_cmd[@]}" mkdir -p "$prefix/lib" "$prefix/include"

  (cd "$work" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$work"/onnxruntime-node-*.tgz -C "$work"
  local so
  so=$(ls "$work"/package/bin/napi-v*/linux/x64/libonnxruntime.so.1* | head -1)
  "${sudo_cmd[@]}" cp "$so" "$prefix/lib/libonnxruntime.so.1"
  "${sudo_cmd[@]}" ln -sf libonnxruntime.so.1 "$prefix/lib/libonnxruntime.so"

  local apt_dir="$work/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
    "http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o Debug::NoLocking=1
  )
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work" && apt-get "${apt_opts[@]}" download \
    "libonnxruntime-dev=$ORT_VERSION+dfsg-1" >/dev/null)
  dpkg-deb -x "$work"/libonnxruntime-dev_*.deb "$work/deb"
  "${sudo_cmd[@]}" cp -r "$work"/deb/usr/include/onnxruntime/. \
    "$prefix/include/"
  rm -rf "$work"
}

install_python_tools() {
  local venv="$VIGIL_DEPS/venv"
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c \
    'import onnxruntime, openvino, numpy, sklearn, scipy, onnx' 2>/dev/null \
    && return 0
  log "installing Python test tools into $venv"
  "${sudo_cmd[@]}" python3 -m venv "$venv"
  "${sudo_cmd[@]}" "$venv/bin/pip" install -q --disable-pip-version-check \
    "onnxruntime==1.21.1" "openvino==2025.1.0" "numpy<2.3" \
    "scikit-learn==1.6.1" "scipy==1.15.2" "onnx==1.17.0"
}

version_at_least() {  # version_at_least HAVE WANT
  [[ "$(printf '%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

system_rust_is_recent() {
  command -v rustc >/dev/null && command -v cargo >/dev/null &&
    version_at_least "$(rustc --version | awk '{print $2}')" \
      "$REDUCTSTORE_MIN_RUST"
}

install_rust() {
  [[ -x "$RUST_HOME/bin/cargo" ]] && return 0
  log "installing Rust $RUST_VERSION into $RUST_HOME for ReductStore"
  local init
  init=$(mktemp)
  curl --proto '=https' --tlsv1.2 -sSf -o "$init" https://sh.rustup.rs
  "${sudo_cmd[@]}" env RUSTUP_HOME="$RUST_HOME" CARGO_HOME="$RUST_HOME" \
    sh "$init" -y --no-modify-path --profile minimal \
    --default-toolchain "$RUST_VERSION" >/dev/null
  rm -f "$init"
}

# Builds in a scratch root, then installs the one binary, so that a failed
# build leaves no folder that looks installed.
install_reductstore() {
  local root="$VIGIL_DEPS/reductstore-$REDUCTSTORE_VERSION"
  [[ -x "$root/bin/reductstore" ]] && return 0
  local cargo=(cargo)
  if ! system_rust_is_recent; then
    install_rust
    cargo=("${sudo_cmd[@]}" env RUSTUP_HOME="$RUST_HOME"
           CARGO_HOME="$RUST_HOME" "$RUST_HOME/bin/cargo")
  fi
  log "building ReductStore $REDUCTSTORE_VERSION from crates.io (once)"
  local work
  work=$(mktemp -d)
  "${cargo[@]}" install reductstore --version "$REDUCTSTORE_VERSION" \
    --locked --no-default-features --features fs-backend --root "$work" \
    --quiet
  "${sudo_cmd[@]}" install -D -m 0755 "$work/bin/reductstore" \
    "$root/bin/reductstore"
  "${sudo_cmd[@]}" rm -rf "$work"
}

install_debian_packages
install_onnxruntime
install_python_tools
((want_storage)) && install_reductstore
log "dependencies ready under $VIGIL_DEPS"
