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
#       --top-up N     instead of --runs: each target runs until its executions over all campaigns
#                      logged in WORK/campaigns.tsv reach N (the slow or new targets get the cores)
#       --campaign ID  name of this campaign in WORK/campaigns.tsv (default host-date)
#   scripts/fuzz.sh tally [WORK]               the tally of a work folder (markdown table, also tally.tsv)
#   scripts/fuzz.sh sum WORK|campaigns.tsv…    executions, findings and coverage summed over every
#                                              campaign logged (each campaign counted once)
#   scripts/fuzz.sh fold DIR|campaigns.tsv     append a campaign log's new rows (e.g. the GPU call's $OUT)
#                                              to docs/fuzz-campaigns.tsv and rewrite the summed tally
#                                              in docs/fuzzing.md (between its tally markers)
#   scripts/fuzz.sh merge SRC DST              fold a work folder (or a .tar.xz of one, as the GPU
#                                              campaign returns) into DST: corpora, artifacts, campaign log
#   scripts/fuzz.sh replay [--bin DIR] DIR…    run each target over inputs (regression corpora):
#                                              DIR/<target>/* must run without a finding
#   scripts/fuzz.sh bundle OUT_DIR [BUILD_DIR] [--work WORK] [--time S] [--jobs J] [--top-up N]
#                                              OUT_DIR/payload.tar.xz: the binaries (debug info
#                                              stripped), the shared libraries they need outside the
#                                              C/C++ runtime, this script, seeds, dictionaries and
#                                              WORK's corpora (minimised) and campaign log; and
#                                              OUT_DIR/go.sh, which runs them on a machine without the
#                                              build dependencies (scripts/fuzz-go.sh.in)
#
# Execution is scheduled in chunks (one libFuzzer process of --chunk runs each), round robin over the
# targets, J at a time: a fast target finishes its runs early and leaves its cores to the slow ones.
# All chunks of a target share its corpus folder; a chunk that finds a crash, leak, timeout or
# out-of-memory leaves the input in WORK/<target>/artifacts and later chunks go on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_SRC=${FUZZ_SRC:-$ROOT/tests/fuzz}

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
        fuzz_http_requests) echo "-max_len=2048 -dict=$FUZZ_SRC/dict/http.dict" ;;
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
    local bin=$ROOT/build-fuzz/bin work=$ROOT/out/fuzz runs=10000000 time=600 jobs chunk=500000 topup=0
    local campaign
    campaign="$(hostname -s 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%S)"
    jobs=$(nproc)
    while (($#)); do
        case "$1" in
            --bin) bin=$(cd "$2" && pwd); shift 2 ;;
            --work) mkdir -p "$2"; work=$(cd "$2" && pwd); shift 2 ;;
            --runs) runs=$2; shift 2 ;;
            --time) time=$2; shift 2 ;;
            --jobs) jobs=$2; shift 2 ;;
            --chunk) chunk=$2; shift 2 ;;
            --top-up) topup=$2; shift 2 ;;
            --campaign) campaign=$2; shift 2 ;;
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
    # Round-robin chunk list; with --runs 0, enough chunks to fill the time; with --top-up, each
    # target's chunks until its logged executions reach N (targets with more left keep the cores).
    local offset=0
    declare -A before_chunks before_art need
    for t in "${targets[@]}"; do
        local prev
        prev=0; [ -f "$work/$t/chunks.txt" ] && prev=$(wc -l <"$work/$t/chunks.txt")
        before_chunks[$t]=$prev
        before_art[$t]=$(find "$work/$t/artifacts" -type f | wc -l)
        if ((prev > offset)); then offset=$prev; fi
        if ((topup > 0)); then
            local done_t
            done_t=$(campaign_execs "$work/campaigns.tsv" "$t")
            need[$t]=$(((topup - done_t + chunk - 1) / chunk))
            if ((need[$t] < 0)); then need[$t]=0; fi
        elif ((runs > 0)); then
            need[$t]=$(((runs + chunk - 1) / chunk))
        else
            need[$t]=100000
        fi
    done
    local rounds=0
    for t in "${targets[@]}"; do if ((need[$t] > rounds)); then rounds=${need[$t]}; fi; done
    echo "fuzz: ${#targets[@]} targets, chunks of $chunk ($( for t in "${targets[@]}"; do printf '%s:%s ' "${t#fuzz_}" "${need[$t]}"; done)), $jobs jobs, ${time}s budget, work $work, campaign $campaign"
    for ((r = 0; r < rounds; r++)); do
        for t in "${targets[@]}"; do if ((r < need[$t])); then echo "$t $((offset + r))"; fi; done
    done | xargs -P "$jobs" -n 2 bash -c 'run_chunk "$0" "$1" "$2" "$3" "$4" "$5"' "$bin" "$work" "$deadline" "$chunk"
    # Coverage of each target's whole corpus (one pass, no mutation).
    printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c \
        '"$0/{}" -runs=0 -artifact_prefix="$1/{}/artifacts/coverage-" $(target_opts {}) "$1/{}/corpus" >"$1/{}/coverage.log" 2>&1 || true' "$bin" "$work"
    cmd_tally "$work"
    # The campaign log: this run's executions and new artifacts per target (scripts/fuzz.sh sum).
    local log=$work/campaigns.tsv
    [ -f "$log" ] || printf 'campaign\ttarget\texecs\tprocess_s\tjobs\twall_s\tnew_artifacts\tcov\tft\tcorpus\n' >"$log"
    local wall=$(($(date +%s) - start))
    for t in "${targets[@]}"; do
        local e ms art row
        e=$(tail -n +"$((before_chunks[$t] + 1))" "$work/$t/chunks.txt" 2>/dev/null | awk '{s += $3} END {print s + 0}')
        ms=$(tail -n +"$((before_chunks[$t] + 1))" "$work/$t/chunks.txt" 2>/dev/null | awk '{s += $4} END {print s + 0}')
        art=$(($(find "$work/$t/artifacts" -type f | wc -l) - before_art[$t]))
        row=$(awk -F'\t' -v t="$t" '$1 == t {print $4 "\t" $5 "\t" $6}' "$work/tally.tsv")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$campaign" "$t" "$e" "$((ms / 1000))" "$jobs" "$wall" "$art" "$row" >>"$log"
    done
    echo "fuzz: done in $wall s (campaign $campaign logged in $log)"
}

# campaign_execs LOG TARGET: executions of TARGET over every campaign in LOG (0 without a log).
campaign_execs() {
    [ -f "$1" ] || { echo 0; return; }
    awk -F'\t' -v t="$2" 'NR > 1 && $2 == t && !seen[$1 FS $2]++ {s += $3} END {print s + 0}' "$1"
}

cmd_sum() {
    local logs=() a
    for a in "$@"; do
        if [ -d "$a" ]; then logs+=("$a/campaigns.tsv"); else logs+=("$a"); fi
    done
    ((${#logs[@]})) || logs=("$ROOT/out/fuzz/campaigns.tsv")
    echo "### Executions per campaign"
    echo
    echo "| campaign | target | executions | process-seconds | jobs | new artifacts | cov / ft | corpus |"
    echo "|---|---|---:|---:|---:|---:|---|---:|"
    awk -F'\t' '$1 != "campaign" && !seen[$1 FS $2]++ {printf "| %s | `%s` | %\047d | %d | %s | %s | %s / %s | %s |\n", $1, $2, $3, $4, $5, $7, $8, $9, $10}' "${logs[@]}"
    echo
    echo "### Sum over the campaigns"
    echo
    echo "| target | executions | ≥ 10 M | campaigns | new artifacts | last cov / ft |"
    echo "|---|---:|---|---:|---:|---|"
    awk -F'\t' '$1 != "campaign" && !seen[$1 FS $2]++ {e[$2] += $3; n[$2]++; a[$2] += $7; c[$2] = $8 " / " $9}
        END {for (t in e) printf "| `%s` | %\047d | %s | %d | %d | %s |\n", t, e[t], (e[t] >= 10000000 ? "yes" : "no"), n[t], a[t], c[t]}' "${logs[@]}" | sort
}

cmd_fold() {
    local src=${1:?a campaign log or a folder holding campaigns.tsv} log=$ROOT/docs/fuzz-campaigns.tsv doc=$ROOT/docs/fuzzing.md
    [ -d "$src" ] && src=$src/campaigns.tsv
    [ -f "$log" ] || head -1 "$src" >"$log"
    local before
    before=$(wc -l <"$log")
    awk -F'\t' 'NR == FNR {seen[$1 FS $2] = 1; next} FNR > 1 && !seen[$1 FS $2]++' "$log" "$src" >>"$log"
    local table
    table=$(mktemp)
    cmd_sum "$log" >"$table"
    awk -v t="$table" '/<!-- tally:begin -->/ {print; while ((getline l < t) > 0) print l; skip = 1; next}
        /<!-- tally:end -->/ {skip = 0} !skip' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
    rm -f "$table"
    echo "fold: $(($(wc -l <"$log") - before)) new rows in $log; tally rewritten in $doc"
}

cmd_merge() {
    local src=$1 dst=$2 tmp=""
    if [ -f "$src" ]; then  # a .tar.xz of a work folder
        tmp=$(mktemp -d)
        tar xJf "$src" -C "$tmp"
        src=$(dirname "$(find "$tmp" -name campaigns.tsv | head -1)")
    fi
    mkdir -p "$dst"
    local d t
    for d in "$src"/fuzz_*/; do
        t=$(basename "$d")
        mkdir -p "$dst/$t/corpus" "$dst/$t/artifacts"
        [ -d "$d/corpus" ] && cp -n "$d/corpus/"* "$dst/$t/corpus/" 2>/dev/null || true
        [ -d "$d/artifacts" ] && cp -n "$d/artifacts/"* "$dst/$t/artifacts/" 2>/dev/null || true
    done
    if [ -f "$src/campaigns.tsv" ]; then
        [ -f "$dst/campaigns.tsv" ] || head -1 "$src/campaigns.tsv" >"$dst/campaigns.tsv"
        awk -F'\t' 'NR == FNR {seen[$1 FS $2] = 1; next} FNR > 1 && !seen[$1 FS $2]' "$dst/campaigns.tsv" "$src/campaigns.tsv" >>"$dst/campaigns.tsv"
    fi
    [ -n "$tmp" ] && rm -rf "$tmp"
    echo "merged into $dst: $(find "$dst" -path '*/corpus/*' -type f | wc -l) corpus files, $(($(wc -l <"$dst/campaigns.tsv") - 1)) campaign rows"
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
        # (no coverage line when the coverage pass was not run or stopped early: the row still prints)
        cov=$(grep -oE 'cov: [0-9]+' "$d/coverage.log" 2>/dev/null | tail -1 | awk '{print $2}' || true)
        ft=$(grep -oE 'ft: [0-9]+' "$d/coverage.log" 2>/dev/null | tail -1 | awk '{print $2}' || true)
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
    local out=$1 build=$ROOT/build-fuzz
    shift
    if (($#)) && [[ $1 != --* ]]; then build=$1; shift; fi
    local work="" time=480 jobs=16 topup=10000000
    while (($#)); do
        case "$1" in
            --work) work=$(cd "$2" && pwd); shift 2 ;;
            --time) time=$2; shift 2 ;;
            --jobs) jobs=$2; shift 2 ;;
            --top-up) topup=$2; shift 2 ;;
            *) echo "unknown option $1" >&2; exit 2 ;;
        esac
    done
    local stage
    stage=$(mktemp -d)
    mkdir -p "$out" "$stage/bin" "$stage/lib" "$stage/scripts" "$stage/tests/fuzz"
    local f bins=()
    for f in "$build"/bin/fuzz_*; do
        if ldd "$f" | grep -q 'libtorch_cpu'; then
            echo "bundle: skipping $(basename "$f") (needs LibTorch at run time)"
            continue
        fi
        objcopy --strip-debug "$f" "$stage/bin/$(basename "$f")"
        bins+=("$f")
    done
    # Shared libraries outside glibc and the C++ runtime (the other machine has those).
    ldd "${bins[@]}" | awk '/=> \// {print $3}' | sort -u |
        grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so' |
        while read -r lib; do
            objcopy --strip-debug "$lib" "$stage/lib/$(basename "$lib")"
        done
    # This script, the seeds and dictionaries (the device runs the bundle's copy, not the checkout's).
    cp "$0" "$stage/scripts/fuzz.sh"
    cp -r "$FUZZ_SRC/dict" "$FUZZ_SRC/corpus" "$stage/tests/fuzz/"
    # The corpora so far (each minimised: libFuzzer -merge keeps the inputs that add coverage) and the
    # campaign log, so that the device's campaign adds to them and --top-up knows what is done.
    mkdir -p "$stage/corpora"
    if [ -n "$work" ]; then
        [ -f "$work/campaigns.tsv" ] && cp "$work/campaigns.tsv" "$stage/corpora/"
        for f in "${bins[@]}"; do
            local t
            t=$(basename "$f")
            [ -d "$work/$t/corpus" ] || continue
            mkdir -p "$stage/corpora/$t/corpus"
            "$f" -merge=1 $(target_opts "$t") "$stage/corpora/$t/corpus" "$work/$t/corpus" >/dev/null 2>&1 ||
                cp -n "$work/$t/corpus/"* "$stage/corpora/$t/corpus/"
        done
    fi
    tar cf - -C "$stage" . | xz -T0 -6 >"$out/payload.tar.xz"
    rm -rf "$stage"
    sed -e "s/@TIME@/$time/g; s/@JOBS@/$jobs/g; s/@TOPUP@/$topup/g" "$ROOT/scripts/fuzz-go.sh.in" >"$out/go.sh"
    chmod +x "$out/go.sh"
    du -sh "$out"
}

cmd=${1:-}
shift || true
case "$cmd" in
    build) cmd_build "$@" ;;
    run) cmd_run "$@" ;;
    tally) cmd_tally "$@" ;;
    sum) cmd_sum "$@" ;;
    merge) cmd_merge "$@" ;;
    fold) cmd_fold "$@" ;;
    replay) cmd_replay "$@" ;;
    bundle) cmd_bundle "$@" ;;
    *) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
