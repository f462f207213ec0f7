# mmap-lab recipes. Install just with `cargo install just` (or your package manager).
# Every recipe is a plain cargo or mmap-lab command you can also type yourself.

# List the recipes.
default:
    @just --list

# The main job: generate the full-size data (reused when valid) and rebuild reports/.
run-all *ARGS:
    cargo run --release -- run-all {{ARGS}}

# The tests, exactly as the README and CI run them.
test:
    cargo test

# Criterion benchmarks (MMAP_LAB_BENCH_SHAPE sets the data size; small by default).
# `just bench full_pass` runs one group; criterion's own flags may follow.
bench *ARGS:
    cargo bench --bench mapping -- {{ARGS}}

# The regression check CI runs: mapping costs against the committed small baseline.
check-baseline *ARGS:
    cargo run --release -- check --baseline baselines/ci-small.json {{ARGS}}

# Everything CI checks: formatting, lints, tests.
check:
    .ci/run

# Format the code.
fmt:
    cargo fmt --all

# Lints, as CI runs them.
lint:
    cargo clippy --all-targets -- -D warnings
