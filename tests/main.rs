//! The one integration test binary. Each module drives the real library or the real binary.

mod util;

mod check_cli;
mod ident_props;
mod ident_vectors;
mod tac_import;
