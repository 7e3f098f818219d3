#!/usr/bin/env bash
# ferry's benchmark suite: builds ferry in release mode, then runs bench/run.py, which writes
# BENCHMARKS.md at the top of the repository and prints the same table.
#
#   bench/run.sh                 # N = 1,000, 10,000 and 100,000
#   bench/run.sh 1000 10000      # other sizes
#   RUNS=5 bench/run.sh          # more runs per figure (default 3; each figure is the median)
#   ONLY=package bench/run.sh 10000 100000   # only the package rows, printed (BENCHMARKS.md kept)
#   ONLY=postgres bench/run.sh 10000 100000  # only the PostgreSQL store's rows, printed; against
#                                            # FERRY_TEST_POSTGRES_URL, or a throwaway cluster
#                                            # started by .ci/postgres
#
# Needs the Rust toolchain and python3 (both on the machine image); no network.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
if [[ ${ONLY:-} == postgres && -z ${FERRY_TEST_POSTGRES_URL:-} ]]; then
  . .ci/postgres
fi
python3 bench/run.py "$@"
