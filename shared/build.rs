//! Compiles the `.proto` contracts with protox (a protobuf compiler written in Rust,
//! so no system `protoc` is needed) and generates prost messages and tonic services.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "../proto/crossforest/directory/v1/directory.proto",
        "../proto/crossforest/error/v1/error.proto",
        "../proto/crossforest/management/v1/authorization.proto",
        "../proto/crossforest/management/v1/management.proto",
        "../proto/crossforest/token/v1/token.proto",
    ];
    let descriptors = protox::compile(files, ["../proto"])?;
    // The encoded descriptor set serves gRPC server reflection.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("crossforest_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    Ok(())
}
