//! Replays every saved input under `fuzz/regressions/<target>/` through the
//! same code the fuzz targets run (`inkan_fuzz::<target>`). Plain stable
//! Rust, no libFuzzer: `cargo test --manifest-path fuzz/Cargo.toml`.
//!
//! A crash found by `fuzz/run.sh` (saved as `fuzz/artifacts/<target>/crash-*`)
//! becomes a regression test by copying that file into
//! `fuzz/regressions/<target>/`.

use std::fs;
use std::panic;
use std::path::Path;

#[test]
fn every_saved_input_replays_without_panicking() {
    let root = manifest_dir().join("regressions");
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, target) in inkan_fuzz::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .map(|e| e.expect("read regressions entry").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = fs::read(&file).expect("read regression input");
            replayed += 1;
            if panic::catch_unwind(|| target(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
    assert!(
        replayed > 0,
        "no regression inputs found under {}",
        root.display()
    );
    eprintln!("replayed {replayed} regression inputs");
}

#[test]
fn every_target_has_a_regressions_folder() {
    let root = manifest_dir().join("regressions");
    for (name, _) in inkan_fuzz::TARGETS {
        assert!(root.join(name).is_dir(), "missing regressions/{name}/");
        let bin = manifest_dir()
            .join("fuzz_targets")
            .join(format!("{name}.rs"));
        assert!(bin.is_file(), "missing fuzz_targets/{name}.rs");
    }
}

/// The fuzz crate's folder, read at run time (a test binary may be reused from
/// a checkout at another path that shares the target directory).
fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
}
