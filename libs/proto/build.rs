//! Compiles `proto/` with protox (a pure-Rust protobuf compiler), so no
//! system `protoc` is needed on any build machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Canonical, so cargo's change detection sees the same path it watches.
    // Read at run time (not `env!`): a build-script binary may be reused from
    // a checkout at another path that shares the target directory.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?)
        .join("../../proto")
        .canonicalize()?;
    let files = ["inkan/admin/v1/admin.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(files, [&root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
