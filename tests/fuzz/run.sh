#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time from its seed corpus. Exit 77 (skip) without clang or
# without libFuzzer; any crash, leak or sanitizer report fails.
# FUZZ_SECONDS sets the time per target (default 20).
set -u
srcdir=${DROVER_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
seconds=${FUZZ_SECONDS:-20}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null 2>&1 || { echo "clang not found: skipping the fuzzers"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$srcdir/common -I$srcdir/common/http -I$srcdir/common/conf"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' \
    > "$out/probe.c" || ! "$CLANG" $flags -o "$out/probe" "$out/probe.c" 2>/dev/null; then
    echo "clang cannot build libFuzzer targets (install libclang-rt-14-dev): skipping"
    exit 77
fi
status=0
for target in http_parser path http_range proxy_protocol rule_pattern htpasswd http_response; do
    case $target in
        http_parser) srcs="$srcdir/common/http/http_parser.c $srcdir/common/http/http_host.c $srcdir/common/http/http_conditional.c
                           $srcdir/common/http/http_date.c $srcdir/common/http/http_accept.c" ;;
        path) srcs="$srcdir/common/http/path.c" ;;
        http_range) srcs="$srcdir/common/http/http_range.c" ;;
        proxy_protocol) srcs="$srcdir/common/http/proxy_protocol.c" ;;
        rule_pattern) srcs="$srcdir/common/conf/rule_pattern.c" ;;
        htpasswd) srcs="$srcdir/common/conf/htpasswd.c" ;;
        http_response) srcs="$srcdir/common/http/http_response_parser.c $srcdir/common/http/http_parser.c $srcdir/common/http/http_host.c
                             $srcdir/common/http/http_conditional.c $srcdir/common/http/http_date.c $srcdir/common/http/http_accept.c" ;;
    esac
    "$CLANG" $flags -o "$out/fuzz_$target" "$srcdir/tests/fuzz/fuzz_$target.c" $srcs || { status=1; continue; }
    mkdir -p "$out/corpus_$target"
    cp "$srcdir/tests/fuzz/corpus/$target/"* "$out/corpus_$target/"
    echo "fuzzing $target for ${seconds}s"
    if ! (cd "$out" && ./fuzz_$target -max_total_time="$seconds" -max_len=4096 -timeout=10 \
            -rss_limit_mb=1024 -print_final_stats=1 "corpus_$target" > "fuzz_$target.log" 2>&1); then
        echo "FAIL: fuzz_$target"
        tail -40 "$out/fuzz_$target.log"
        status=1
    else
        grep -E "stat::number_of_executed_units|Done" "$out/fuzz_$target.log" | tail -2
    fi
done
exit $status
