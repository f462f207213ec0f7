//! The binary carries `experiments/` inside (`include_dir!` in `src/assets.rs`). The macro
//! tracks the files it embedded, not files added to the folder later: this makes Cargo
//! rebuild when anything under `experiments/` changes, new files included.

fn main() {
    println!("cargo:rerun-if-changed=experiments");
}
