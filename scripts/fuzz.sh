#!/usr/bin/env bash
# Troupe's libFuzzer campaign (docs/fuzzing.md): builds the fuzz targets of tests/fuzz with clang
# (ASan + UBSan + libFuzzer) and runs them all in parallel over the cores, with a tally per target.
#
#   scripts/fuzz.sh build [BUILD_DIR]          configure (clang) and build every target (default build-fuzz)
#   scripts/fuzz.sh run [options] [TARGET…]    fuzz TARGETs (default: all), then print the tally
#       --bin DIR      where the fuzz_* binaries are (default build-fuzz/bin)
#       --work DIR     corpora, artifacts, logs (default out/fuzz); kept between runs, so runs add up
#       --runs N       executions per target (default 10000000); 0 = until --time is up
#       --time S       wall-clock budget in seconds for the whole run (default 600)
#       --jobs J       parallel fuzzer processes (default: all cores)
#       --chunk N      executions per fuzzer process (default 500000)
#   scripts/fuzz.sh tally [WORK]               the tally of a work folder (markdown table, also tally.tsv)
#   scripts/fuzz.sh replay [--bin DIR] DIR…    run each target over inputs (regression corpora):
#                                              DIR/<target>/* must run without a finding
#   scripts/fuzz.sh bundle OUT_DIR [BUILD_DIR] copy the binaries (debug info stripped) and the shared
#                                              libraries they need outside the C/C++ runtime into
#                                              OUT_DIR/{bin,lib}, to run them on a machine without the
#                                              build dependencies (LD_LIBRARY_PATH=OUT_DIR/lib)
#
# Execution is scheduled in chunks (one libFuzzer process of --chunk runs each), round robin over the
# targets, J at a time: a fast target finishes its runs early and leaves its cores to the slow ones.
# All chunks of a target share its corpus folder; a chunk that finds a crash, leak, timeout or
# out-of-memory leaves the input in WORK/<target>/artifacts and later chunks go on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_SRC=$ROOT/tests/fuzz

# Per-target options: input size cap (bytes) and dictionary.
target_opts() {
    local json="-dict=$FUZZ_SRC/dict/json.dict" toml="-dict=$FUZZ_SRC/dict/toml.dict"
    case "$1" in
        fuzz_torch_checkpoint) echo "-max_len=8192" ;;
        fuzz_wav | fuzz_safetensors_header) echo "-max_len=2048 $json" ;;
        fuzz_vocab) echo "-max_len=2048 $json" ;;
        # JSONL and label files: one or two lines are enough, and the cost of a run grows with its size.
        fuzz_safetensors_index | fuzz_eval_journal | fuzz_persona_jsonl | fuzz_aihub_label) echo "-max_len=768 $json" ;;
        fuzz_list_txt) echo "-max_len=768" ;;
        *) echo "-max_len=2048 $toml" ;;  # TOML manifests, scenes, suites (the seeds are up to 2 KB)
    esac
}

all_targets() {
    local bin=$1
    for f in "$bin"/fuzz_*; do [ -x "$f" ] && basename "$f"; done
}

cmd_build() {
    local dir=${1:-build-fuzz}
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    local san="-fsanitize=address,undefined"
    CC=clang CXX=clang++ cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -fno-omit-frame-pointer" \
        -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
        -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
        -DTROUPE_BUILD_FUZZERS=ON -DTROUPE_BUILD_TESTS=ON "${launcher[@]}" >/dev/null
    cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target fuzzers
    echo "fuzzers: $dir/bin/fuzz_*"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:malloc_context_size=10:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_chunk BIN WORK DEADLINE CHUNK TARGET N: one libFuzzer process of CHUNK runs (or until the deadline).
run_chunk() {
    local bin=$1 work=$2 deadline=$3 chunk=$4 t=$5 n=$6
    local left=$((deadline - $(date +%s)))
    ((left > 5)) || return 0
    local d=$work/$t
    local args=(-runs="$chunk" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024
        -print_final_stats=1 -artifact_prefix="$d/artifacts/" $(target_opts "$t"))
    local start=$(date +%s%N)
    "$bin/$t" "${args[@]}" "$d/corpus" >"$d/logs/chunk-$n.log" 2>&1 || true
    local end=$(date +%s%N)
    local execs
    execs=$(grep -m1 'stat::number_of_executed_units' "$d/logs/chunk-$n.log" | awk '{print $2}')
    if [ -z "$execs" ]; then  # a finding ends the process before the final stats: take the last status line
        execs=$(grep -oE '^#[0-9]+' "$d/logs/chunk-$n.log" | tail -1 | tr -d '#')
    fi
    echo "$t $n ${execs:-0} $(((end - start) / 1000000))" >>"$d/chunks.txt"
}
export -f run_chunk target_opts
export FUZZ_SRC

cmd_run() {
    local bin=$ROOT/build-fuzz/bin work=$ROOT/out/fuzz runs=10000000 time=600 jobs chunk=500000
    jobs=$(nproc)
    while (($#)); do
        case "$1" in
            --bin) bin=$(cd "$2" && pwd); shift 2 ;;
            --work) mkdir -p "$2"; work=$(cd "$2" && pwd); shift 2 ;;
            --runs) runs=$2; shift 2 ;;
            --time) time=$2; shift 2 ;;
            --jobs) jobs=$2; shift 2 ;;
            --chunk) chunk=$2; shift 2 ;;
            -*) echo "unknown option $1" >&2; exit 2 ;;
            *) break ;;
        esac
    done
    local targets=("$@")
    ((${#targets[@]})) || mapfile -t targets < <(all_targets "$bin")
    local start
    start=$(date +%s)
    local deadline=$((start + time - 25))  # leaves time for the coverage pass and the tally
    local t
    for t in "${targets[@]}"; do
        [ -x "$bin/$t" ] || { echo "no $bin/$t" >&2; exit 1; }
        mkdir -p "$work/$t/corpus" "$work/$t/artifacts" "$work/$t/logs"
        [ -d "$FUZZ_SRC/corpus/$t" ] && cp -n "$FUZZ_SRC/corpus/$t"/* "$work/$t/corpus/" 2>/dev/null || true
    done
    # Round-robin chunk list; with --runs 0, enough chunks to fill the time.
    local rounds
    if ((runs > 0)); then rounds=$(((runs + chunk - 1) / chunk)); else rounds=100000; fi
    local offset=0
    for t in "${targets[@]}"; do
        local prev
        prev=0; [ -f "$work/$t/chunks.txt" ] && prev=$(wc -l <"$work/$t/chunks.txt")
        ((prev > offset)) && offset=$prev
    done
    echo "fuzz: ${#targets[@]} targets, $runs runs each in chunks of $chunk, $jobs jobs, ${time}s budget, work $work"
    for ((r = 0; r < rounds; r++)); do
        for t in "${targets[@]}"; do echo "$t $((offset + r))"; done
    done | xargs -P "$jobs" -n 2 bash -c 'run_chunk "$0" "$1" "$2" "$3" "$4" "$5"' "$bin" "$work" "$deadline" "$chunk"
    # Coverage of each target's whole corpus (one pass, no mutation).
    printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c \
        '"$0/{}" -runs=0 $(target_opts {}) "$1/{}/corpus" >"$1/{}/coverage.log" 2>&1 || true' "$bin" "$work"
    cmd_tally "$work"
    echo "fuzz: done in $(($(date +%s) - start)) s"
}

cmd_tally() {
    local work=${1:-$ROOT/out/fuzz}
    local tsv=$work/tally.tsv
    printf 'target\texecs\texec_per_s\tcov\tft\tcorpus\tcrashes\tleaks\ttimeouts\tooms\n' >"$tsv"
    echo "| target | executions | exec/s per process | coverage (cov / ft) | corpus | crashes | leaks | timeouts | OOMs |"
    echo "|---|---:|---:|---|---:|---:|---:|---:|---:|"
    local d
    for d in "$work"/fuzz_*/; do
        local t execs ms rate cov ft corp
        t=$(basename "$d")
        execs=$(awk '{s += $3} END {print s + 0}' "$d/chunks.txt" 2>/dev/null || echo 0)
        ms=$(awk '{s += $4} END {print s + 0}' "$d/chunks.txt" 2>/dev/null || echo 0)
        rate=$(awk -v e="$execs" -v m="$ms" 'BEGIN {printf "%d", (m > 0 ? e * 1000 / m : 0)}')
        cov=$(grep -oE 'cov: [0-9]+' "$d/coverage.log" 2>/dev/null | tail -1 | awk '{print $2}')
        ft=$(grep -oE 'ft: [0-9]+' "$d/coverage.log" 2>/dev/null | tail -1 | awk '{print $2}')
        corp=$(find "$d/corpus" -type f | wc -l)
        local c l to oom
        c=$(find "$d/artifacts" -name 'crash-*' | wc -l)
        l=$(find "$d/artifacts" -name 'leak-*' | wc -l)
        to=$(find "$d/artifacts" -name 'timeout-*' | wc -l)
        oom=$(find "$d/artifacts" -name 'oom-*' | wc -l)
        echo "| $t | $execs | $rate | ${cov:-?} / ${ft:-?} | $corp | $c | $l | $to | $oom |"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$rate" "${cov:-}" "${ft:-}" "$corp" "$c" "$l" "$to" "$oom" >>"$tsv"
    done
}

cmd_replay() {
    local bin=$ROOT/build-fuzz/bin
    if [ "${1:-}" = --bin ]; then bin=$2; shift 2; fi
    local fail=0 dir t
    for dir in "$@"; do
        for t in "$dir"/fuzz_*; do
            [ -d "$t" ] || continue
            local name
            name=$(basename "$t")
            if "$bin/$name" $(target_opts "$name") -runs=0 "$t"/* >/dev/null 2>&1; then
                echo "ok   $name ($(find "$t" -type f | wc -l) inputs)"
            else
                echo "FAIL $name"; fail=1
            fi
        done
    done
    return $fail
}

cmd_bundle() {
    local out=$1 build=${2:-$ROOT/build-fuzz}
    mkdir -p "$out/bin" "$out/lib"
    local f bins=()
    for f in "$build"/bin/fuzz_*; do
        if ldd "$f" | grep -q 'libtorch_cpu'; then
            echo "bundle: skipping $(basename "$f") (needs LibTorch at run time)"
            continue
        fi
        objcopy --strip-debug "$f" "$out/bin/$(basename "$f")"
        bins+=("$f")
    done
    # Shared libraries outside glibc and the C++ runtime (the other machine has those).
    ldd "${bins[@]}" | awk '/=> \// {print $3}' | sort -u |
        grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so' |
        while read -r lib; do
            objcopy --strip-debug "$lib" "$out/lib/$(basename "$lib")"
        done
    du -sh "$out"
}

cmd=${1:-}
shift || true
case "$cmd" in
    build) cmd_build "$@" ;;
    run) cmd_run "$@" ;;
    tally) cmd_tally "$@" ;;
    replay) cmd_replay "$@" ;;
    bundle) cmd_bundle "$@" ;;
    *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
