//! scanstation: a barcode label scanning station for device intake, returns and recall sweeps.
//!
//! The modules follow the data flow, and `ARCHITECTURE.md` is the map:
//!
//! - [`ident`]: classify and validate one decoded string (IMEI, MEID, ICCID, EID, GTIN, GS1, serials).
//! - [`store`]: the SQLite store (one writer, WAL, append-only migrations) and the TAC table.
//! - [`cli`]: the command line, the thin layer the binary calls.
//! - [`term`]: outside text made safe to print on a terminal; every human line uses it.
//! - [`bench`]: benchmarks that live in the repo, run with `scanstation bench ...`.

pub mod bench;
pub mod card;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod error;
pub mod evidence;
pub mod export;
pub mod feedback;
pub mod ident;
pub mod lists;
pub mod pair;
pub mod source;
pub mod store;
pub mod synth;
pub mod term;
pub mod workflow;
