//! scanstation: a barcode label scanning station for device intake, returns and recall sweeps.
//!
//! The modules follow the data flow, and `ARCHITECTURE.md` is the map:
//!
//! - [`ident`]: classify and validate one decoded string (IMEI, MEID, ICCID, EID, GTIN, GS1, serials).
//! - [`store`]: the SQLite store (one writer, WAL, append-only migrations) and the TAC table.
//! - [`cli`]: the command line, the thin layer the binary calls.
//! - [`term`]: outside text made safe to print on a terminal; every human line uses it.
//! - `bench` and `synth` (feature `lab`): benchmarks and the label generator; dev tooling that
//!   the station binary leaves out unless built with `--features lab`.

// Everything is crate-private unless the binary, the tests or the fuzzers use it from outside;
// the lint shows a `pub` that nothing outside can reach, so dead code cannot hide behind it.
#![warn(unreachable_pub)]

/// A closed set of names stored in the database and shown in events: each variant has one
/// stable lowercase name, `as_str` and `parse` are inverse, and serde reads and writes the
/// name, so the store, the events and the exports can never spell a value two ways.
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            $vis const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable name, as stored and printed.
            $vis fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The value of a stable name; `None` for any other text.
            $vis fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A value equals its stable name, so code and tests can compare with the stored text.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {:?}",
                        stringify!($name),
                        text
                    ))
                })
            }
        }
    };
}

#[allow(clippy::disallowed_methods)]
pub(crate) mod api;
#[allow(clippy::disallowed_methods)]
#[cfg(feature = "lab")]
pub(crate) mod bench;
pub(crate) mod card;
#[allow(clippy::disallowed_methods)]
pub mod cli;
#[allow(clippy::disallowed_methods)]
pub mod clock;
#[allow(clippy::disallowed_methods)]
pub(crate) mod config;
#[allow(clippy::disallowed_methods)]
pub(crate) mod daemon;
#[allow(clippy::disallowed_methods)]
pub mod decode;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod evidence;
#[allow(clippy::disallowed_methods)]
pub(crate) mod export;
#[allow(clippy::disallowed_methods)]
pub(crate) mod feedback;
pub mod ident;
pub mod lists;
pub mod pair;
pub mod record;
#[allow(clippy::disallowed_methods)]
pub mod source;
pub(crate) mod station;
#[allow(clippy::disallowed_methods)]
pub mod store;
#[allow(clippy::disallowed_methods)]
pub(crate) mod sync;
#[allow(clippy::disallowed_methods)]
#[cfg(feature = "lab")]
pub mod synth;
pub(crate) mod term;
#[allow(clippy::disallowed_methods)]
pub(crate) mod webhook;
pub(crate) mod workflow;
