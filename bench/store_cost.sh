#!/usr/bin/env bash
# Storage costs on SQLite and PostgreSQL: a code redemption (insert + consume) alone and while
# the background purge deletes ROWS expired rows, and `db copy` of ROWS live codes from SQLite
# to PostgreSQL. PostgreSQL figures use TESSERA_TEST_DATABASE_URL (a scratch schema).
#
#     bash bench/store_cost.sh [ROWS]        # default 100000
set -euo pipefail
cd "$(dirname "$0")/.."
export TESSERA_TEST_DATABASE_URL="${TESSERA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo run --release -q -p tessera-store --example store_cost -- "${1:-100000}"
