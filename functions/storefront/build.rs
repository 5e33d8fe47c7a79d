//! Embeds the storefront's assets: one table entry per file under `assets/`, with its content
//! type and a strong ETag naming its bytes (96 bits of their SHA-256).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for file in files {
        let served = file.strip_prefix(&root).unwrap().to_str().expect("asset paths are UTF-8").replace('\\', "/");
        let bytes = std::fs::read(&file).unwrap();
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        let tag: String = digest[..12].iter().fold(String::new(), |mut s, b| {
            write!(s, "{b:02x}").unwrap();
            s
        });
        writeln!(
            table,
            "    Asset {{ path: {served:?}, etag: \"\\\"{tag}\\\"\", body: include_bytes!({:?}) }},",
            file.display().to_string()
        )
        .unwrap();
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(out, table).unwrap();
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
