//! Workspace-wide rules that no single chapter can check on its own.

use std::collections::BTreeMap;
use std::path::Path;

/// Cargo puts every example binary of the workspace in one `target/*/examples/` folder, so
/// two crates with an example of the same name overwrite each other's binary (it warns
/// "output filename collision", and says this may become an error). Chapter crates name
/// theirs by what they do (`attention_cost`) or by chapter (`ch05_figures`).
#[test]
fn example_names_are_unique_across_the_workspace() {
    let listings = Path::new(env!("CARGO_MANIFEST_DIR")).join("listings");
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for krate in std::fs::read_dir(&listings).expect("listings/ is readable") {
        let krate = krate.expect("listings/ entry").path();
        let Ok(examples) = std::fs::read_dir(krate.join("examples")) else {
            continue;
        };
        for example in examples {
            let path = example.expect("examples/ entry").path();
            let name = if path.is_dir() {
                path.join("main.rs").is_file().then(|| path.file_name())
            } else {
                (path.extension().is_some_and(|e| e == "rs")).then(|| path.file_stem())
            };
            if let Some(Some(name)) = name {
                seen.entry(name.to_string_lossy().into_owned())
                    .or_default()
                    .push(krate.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        seen.len() > 20,
        "found only {} examples under listings/",
        seen.len()
    );
    let clashes: Vec<String> = seen
        .iter()
        .filter(|(_, crates)| crates.len() > 1)
        .map(|(name, crates)| format!("example `{name}` in {}", crates.join(", ")))
        .collect();
    assert!(
        clashes.is_empty(),
        "example names must be unique:\n{}",
        clashes.join("\n")
    );
}
