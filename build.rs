//! Embeds every built-in kind schema (`schemas/kinds/*.schema.json`) into the binary, so that
//! ferry works on a repository that has no copies of them yet.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("schemas/kinds");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("schemas/kinds exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    names.sort();
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out = String::from("/// Built-in kind schemas: (kind, schema text).\npub static BUILTIN_KINDS: &[(&str, &str)] = &[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=schemas/kinds/{n}");
        let kind = n.trim_end_matches(".schema.json");
        writeln!(
            out,
            "    ({kind:?}, include_str!({:?})),",
            format!("{root}/schemas/kinds/{n}")
        )
        .unwrap();
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("builtin_kinds.rs"), out).expect("OUT_DIR is writable");

    // One sample object per kind, for synthetic tenants.
    let samples = Path::new("tests/fixtures/kinds");
    println!("cargo:rerun-if-changed={}", samples.display());
    let mut out = String::from(
        "/// Sample object files: (kind, text).\nstatic KIND_SAMPLES: &[(&str, &str)] = &[\n",
    );
    for n in &names {
        let kind = n.trim_end_matches(".schema.json");
        let file = format!("{root}/tests/fixtures/kinds/{kind}.toml");
        if Path::new(&file).is_file() {
            println!("cargo:rerun-if-changed=tests/fixtures/kinds/{kind}.toml");
            writeln!(out, "    ({kind:?}, include_str!({file:?})),").unwrap();
        }
    }
    out.push_str("];\n");
    std::fs::write(Path::new(&out_dir).join("kind_samples.rs"), out).expect("OUT_DIR is writable");
}
