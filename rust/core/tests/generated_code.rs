//! The committed prost code must be exactly what the `.proto` files generate.
//!
//! `protox` compiles the `.proto` files in pure Rust, so this check (and a regeneration with
//! `FERROBOARD_REGENERATE=1`) needs no `protoc` on the machine.

use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_protobuf_code_matches_proto_files() {
    let proto_dir = manifest_dir().join("proto");
    let files = [
        "tensorboard.proto",
        "hparams.proto",
        "mesh.proto",
        "custom_scalar.proto",
        "graph.proto",
        "run_metadata.proto",
        "onnx.proto",
    ]
    .map(|f| proto_dir.join(f));
    let descriptors = protox::compile(&files, [&proto_dir]).expect("compile .proto files");

    let out = tempfile::tempdir().expect("temp dir");
    prost_build::Config::new()
        .out_dir(out.path())
        // Session start hparams in name order, and graph attributes in key order, so that
        // the same summary always encodes to the same bytes.
        .btree_map([
            ".tensorboard.hparams.SessionStartInfo.hparams",
            ".tensorboard.NodeDef.attr",
            ".tensorboard.NameAttrList.attr",
        ])
        .compile_fds(descriptors)
        .expect("generate Rust code");

    let committed = manifest_dir().join("src").join("proto");
    let regenerate = std::env::var_os("FERROBOARD_REGENERATE").is_some();
    for name in [
        "tensorboard.rs",
        "tensorboard.hparams.rs",
        "tensorboard.mesh.rs",
        "tensorboard.custom_scalar.rs",
        "onnx.rs",
    ] {
        let fresh = std::fs::read_to_string(out.path().join(name)).expect("generated file");
        let path: &Path = &committed.join(name);
        if regenerate {
            std::fs::write(path, &fresh).expect("write generated code");
            continue;
        }
        let old = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            old == fresh,
            "{} is stale: run FERROBOARD_REGENERATE=1 cargo test -p ferroboard-core --test generated_code",
            path.display()
        );
    }
}
