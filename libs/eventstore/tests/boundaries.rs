//! The event store stores events, not aggregates: of the domain crate it may
//! use only the envelope (the shape every event shares). Projects,
//! identities and signing keys belong to `inkan-readmodel` and above.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_event_store_uses_only_the_envelope_of_the_domain_crate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(!files.is_empty());
    let mut offending = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("inkan_domain::") {
                let path = &rest[at + "inkan_domain::".len()..];
                if !path.starts_with("envelope") {
                    offending.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
                rest = path;
            }
        }
    }
    assert!(
        offending.is_empty(),
        "the event store must not know the aggregates:\n{}",
        offending.join("\n")
    );
}
