# mmap-lab recipes. Install just with `cargo install just` (or your package manager).
# Every recipe is a plain cargo or mmap-lab command you can also type yourself.

# List the recipes.
default:
    @just --list

# The main job: generate the full-size data (reused when valid) and rebuild reports/.
run-all *ARGS:
    cargo run --release -- run-all {{ARGS}}

# Map an array larger than this machine's memory (writes ~1.25x memory to disk; not in run-all).
larger-than-memory *ARGS:
    cargo run --release -- larger-than-memory {{ARGS}}

# The tests, exactly as the README and CI run them.
test:
    cargo test

# The project's Python with NumPy in .venv (ignored by git): the report's NumPy column and the interop tests;
# safetensors and pyarrow for the formats group's peers.
venv:
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install numpy safetensors pyarrow

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

# Property-based fuzzing of the .npy header parser and the file layer (bounded by CASES).
fuzz CASES="50000":
    PROPTEST_CASES={{CASES}} cargo test --release --test fuzz_npy

# A coursework lab: `just lab list`, `just lab run 1 --answers lab01-answers.toml`.
lab *ARGS:
    cargo run --release -- lab {{ARGS}}
