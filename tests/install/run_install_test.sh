#!/usr/bin/env bash
# Installs a rankflow build into a scratch prefix and builds and runs a small
# outside project against it, first through find_package(rankflow), then,
# when rankflow.pc was installed, through pkg-config.
#
#   run_install_test.sh <rankflow build dir> [<consumer source dir>]
#
# Environment: CMAKE (cmake to use), CMAKE_GENERATOR (for the consumer),
# CXX (compiler for both), KEEP_INSTALL_TEST_DIR=1 to keep the scratch dir.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <rankflow build dir> [<consumer source dir>]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
consumer_src=$(cd "${2:-$here/consumer}" && pwd)
cmake=${CMAKE:-cmake}
cxx=${CXX:-c++}

work=$(mktemp -d "${TMPDIR:-/tmp}/rankflow-install-test.XXXXXX")
if [[ "${KEEP_INSTALL_TEST_DIR:-0}" == 1 ]]; then
  echo "-- keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix

step() { echo; echo "== $*"; }

step "install $build_dir into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix"

# The exported library and its package files must be there; find them rather
# than assume a libdir layout (lib, lib64, lib/<multiarch>).
config=$(find "$prefix" -name rankflowConfig.cmake -print -quit)
if [[ -z "$config" ]]; then
  echo "FAIL: rankflowConfig.cmake was not installed" >&2
  exit 1
fi
libdir=$(cd "$(dirname "$config")/../.." && pwd)
if ! compgen -G "$libdir/librankflow.*" >/dev/null; then
  echo "FAIL: no librankflow in $libdir (is the rankflow target built?)" >&2
  exit 1
fi

step "the installed launcher"
launcher=$prefix/bin/rankflow-run
if [[ ! -x "$launcher" ]]; then
  echo "FAIL: $launcher was not installed (or is not executable)" >&2
  exit 1
fi
if command -v mpirun >/dev/null || { [[ -n "${SLURM_JOB_ID:-}" ]] && command -v srun >/dev/null; }; then
  dry=$("$launcher" --dry-run -n 2 ./app)
  echo "$dry"
  if ! grep -qE '^command: .*(mpirun|srun) .*\./app$' <<<"$dry"; then
    echo "FAIL: unexpected rankflow-run --dry-run output" >&2
    exit 1
  fi
else
  echo "-- no mpirun or srun here; rankflow-run --dry-run skipped"
fi

step "configure and build the consumer with find_package(rankflow)"
gen_args=()
if [[ -n "${CMAKE_GENERATOR:-}" ]]; then gen_args=(-G "$CMAKE_GENERATOR"); fi
"$cmake" -S "$consumer_src" -B "$work/consumer-build" "${gen_args[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release
"$cmake" --build "$work/consumer-build"

# The consumer must load the installed library, found through its own RPATH
# (no LD_LIBRARY_PATH), not a copy in the build tree.
check_uses_prefix() {
  local lib
  lib=$(ldd "$1" | awk '$1 ~ /^librankflow\.so/ {print $3}')
  case "$lib" in
    "$prefix"/*) echo "-- $(basename "$1") loads $lib" ;;
    *) echo "FAIL: $1 loads librankflow from '${lib:-nowhere}', not from $prefix" >&2
       exit 1 ;;
  esac
}

step "run the find_package consumer"
check_uses_prefix "$work/consumer-build/app"
app_out=$("$work/consumer-build/app")
echo "$app_out"
# One version everywhere: project(VERSION) -> rankflow::Version(), the CMake
# package version file and rankflow.pc.
lib_version=$(sed -n 's/^rankflow \([0-9][0-9.]*\): .*/\1/p' <<<"$app_out")
cmake_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' \
                "$(dirname "$config")/rankflowConfigVersion.cmake")
if [[ -z "$lib_version" || "$lib_version" != "$cmake_version" ]]; then
  echo "FAIL: rankflow::Version() '$lib_version' != package version '$cmake_version'" >&2
  exit 1
fi

pc=$(find "$prefix" -name rankflow.pc -print -quit)
if [[ -z "$pc" ]]; then
  echo; echo "-- no rankflow.pc installed; pkg-config check skipped"
  echo "PASS"
  exit 0
fi
if ! command -v pkg-config >/dev/null; then
  echo; echo "-- pkg-config not found; pkg-config check skipped"
  echo "PASS"
  exit 0
fi

step "build the consumer with pkg-config ($pc)"
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --print-errors --exists rankflow
echo "cflags: $(pkg-config --cflags rankflow)"
echo "libs:   $(pkg-config --libs rankflow)"
if [[ "$(pkg-config --modversion rankflow)" != "$lib_version" ]]; then
  echo "FAIL: rankflow.pc version $(pkg-config --modversion rankflow) != $lib_version" >&2
  exit 1
fi
pc_libdir=$(pkg-config --variable=libdir rankflow)
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
"$cxx" -std=c++20 -o "$work/app-pkgconfig" "$consumer_src/main.cc" \
  $(pkg-config --cflags --libs rankflow) -Wl,-rpath,"$pc_libdir"

step "run the pkg-config consumer"
check_uses_prefix "$work/app-pkgconfig"
"$work/app-pkgconfig"

echo; echo "PASS"
