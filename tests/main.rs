//! The one integration test binary. Each module drives the real library or the real binary.

// Tests are an edge: they read fixtures, write temporary files and measure time.
#![allow(clippy::disallowed_methods)]

mod pg;
mod util;

mod bench_http;
mod bench_sync;
mod browser;
mod camera_records;
mod card;
mod central;
mod check_cli;
mod cli_errors;
mod conformance;
mod consistency;
mod corpus;
mod crash;
mod daemon;
#[cfg(feature = "serial")]
mod daemon_serial;
mod decode;
mod decode_bands;
mod decode_blur;
mod decode_inverted;
mod decode_matrix;
mod decode_stream;
mod escape;
mod faults;
mod http;
mod ident_props;
mod ident_vectors;
mod layout;
mod lists;
mod modes;
mod pairing;
mod region;
mod replay;
mod schema;
#[cfg(feature = "serial")]
mod serial_source;
mod sessions;
mod sync;
mod synth;
mod tac_import;
mod verify;
mod webhooks;
mod wedge;
