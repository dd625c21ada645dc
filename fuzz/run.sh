#!/usr/bin/env bash
# fuzz/run.sh SPEC SECONDS [libFuzzer options...]
# fuzz/run.sh --ensure-clang      (only install clang when missing)
#
# Native fuzzing of a spec's generated plugin C: the same <name>.c and
# protodsl_rt.h that zig builds into the Wasm module, compiled with clang
# -fsanitize=fuzzer,address,undefined together with fuzz/harness.c, then run
# for SECONDS on one core. Installs clang (and the fuzzer runtime) from the
# distribution's packages when missing; needs root for that.
#
# Work files go to $FUZZ_WORK/<name> (default fuzz/.work/<name>): src/ (the
# generated C), seeds/ (fuzz/prepare.py), corpus/ (kept between runs),
# artifacts/ (crashing inputs) and fuzz.log. The last line printed is
#   fuzz: <name>: <N> executions in <S> s, <C> crashes
# and the exit status is libFuzzer's: 0 when nothing was found.
#
# Environment: PYTHON (default: the repo's .venv, else python3), FUZZ_WORK,
# FUZZ_MAX_LEN (default 4096), FUZZ_EXAMPLES (strategy draws, default 150).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# Can clang build and link a libFuzzer + sanitizer binary?
clang_works() {
    local probe
    command -v clang >/dev/null 2>&1 || return 1
    probe=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
    if clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
        rm -rf "$probe"
        return 0
    fi
    rm -rf "$probe"
    return 1
}

ensure_clang() {
    clang_works && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "fuzz/run.sh: clang with the libFuzzer runtime is missing; as root run:" >&2
        echo "  apt-get update && apt-get install -y clang libclang-rt-dev" >&2
        exit 3
    fi
    (
        # One installer at a time (pytest -n runs a fuzz test per spec in parallel).
        flock 9
        clang_works && exit 0
        export DEBIAN_FRONTEND=noninteractive
        apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "$@"; }
        echo "fuzz/run.sh: installing clang from the distribution's packages (log: $aptlog)" >&2
        apt-get -o DPkg::Lock::Timeout=600 -qq update >>"$aptlog" 2>&1
        command -v clang >/dev/null 2>&1 || apt_get install clang >>"$aptlog" 2>&1
        if ! clang_works; then
            major=$(clang -dumpversion | cut -d. -f1)
            apt_get install "libclang-rt-$major-dev" >>"$aptlog" 2>&1 ||
                apt_get install libclang-rt-dev >>"$aptlog" 2>&1
        fi
    ) 9>/tmp/protodsl-fuzz-clang.lock || true
    if ! clang_works; then
        tail -n 20 "$aptlog" >&2 || true
        echo "fuzz/run.sh: clang still cannot link -fsanitize=fuzzer" >&2
        exit 3
    fi
}

aptlog=/tmp/protodsl-fuzz-apt.log
if [ "${1:-}" = --ensure-clang ]; then
    ensure_clang
    exit 0
fi
if [ $# -lt 2 ]; then
    echo "usage: fuzz/run.sh SPEC SECONDS [libFuzzer options...] | fuzz/run.sh --ensure-clang" >&2
    exit 2
fi
spec=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seconds=$2
shift 2
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$root/.venv/bin/python" ]; then PYTHON=$root/.venv/bin/python; else PYTHON=python3; fi
fi

ensure_clang

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! name=$(cd "$root" && "$PYTHON" "$here/prepare.py" "$spec" "$tmp" \
             --examples "${FUZZ_EXAMPLES:-150}" | tail -n 1) || [ -z "$name" ]; then
    echo "fuzz/run.sh: cannot prepare $spec (see above)" >&2
    exit 4
fi
work=${FUZZ_WORK:-$here/.work}/$name
mkdir -p "$work/corpus" "$work/artifacts"
rm -rf "$work/src" "$work/seeds"
mv "$tmp/src" "$tmp/seeds" "$work/"

clang -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wno-unused-function \
    -DPD_GENERATED="\"$work/src/$name.c\"" \
    "$here/harness.c" -o "$work/fuzz_$name"

set +e
started=$(date +%s)
"$work/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
    -max_len="${FUZZ_MAX_LEN:-4096}" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1
status=$?
took=$(( $(date +%s) - started ))
set -e

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
crashes=$(find "$work/artifacts" -type f -newer "$work/src/$name.c" | wc -l)
if [ "$status" != 0 ]; then
    tail -n 60 "$work/fuzz.log" >&2
fi
echo "fuzz: $name: ${execs:-?} executions in $took s, $crashes crashes (log: $work/fuzz.log)"
exit "$status"
