//! `ident`: classify and validate one decoded string.
//!
//! [`classify`] takes the text of one barcode (and the AIM symbology identifier when the
//! decoder or scanner reported one) and returns a [`Classification`]: what the string is,
//! whether it is valid, its normalised value, the typed identifiers it carries, and, when
//! it is rejected, a reason code and a one-line message for the operator.
//!
//! **Invariant:** classification never fails and never panics. Invalid input is data: a
//! rejected string is still a `Classification`, so it can be stored and shown.

pub mod aim;
pub mod checksum;
mod classify;
pub mod consistency;
pub mod control;
pub mod device;
pub mod di;
pub mod flag;
pub mod gs1;
pub mod gtin;
pub mod gtin_prefixes;
pub mod iso3166;
pub mod serial;
pub mod tac;

pub use aim::{Aim, Symbology};
pub use classify::{MAX_INPUT_LEN, classify};
pub use consistency::{Finding, check_identifiers as check_consistency};
pub use control::Control;
pub use flag::{Flag, FlagCode};
pub use gtin_prefixes::{GtinPrefixes, PrefixEntry, PrefixError};
pub use tac::{NoTacs, TacInfo, TacLookup};

use serde::Serialize;

/// What a scanned string was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// 15 digits with a Luhn check digit.
    Imei,
    /// The 14 digits of an IMEI without its check digit.
    Imei14,
    /// 16 digits: TAC, serial and a 2-digit software version, no check digit.
    Imeisv,
    Meid,
    Esn,
    Iccid,
    Eid,
    Gtin,
    /// A GS1 element string; its elements are in the details.
    Gs1,
    /// An ISO/IEC 15434 envelope of ANSI MH10.8.2 data identifiers.
    Di,
    /// A part or model number, such as Apple's `1P` field.
    Part,
    Serial,
    /// A station control barcode such as `SCANSTATION:NEXT`.
    Control,
    /// Junk: nothing the station can use.
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Imei => "imei",
            Kind::Imei14 => "imei14",
            Kind::Imeisv => "imeisv",
            Kind::Meid => "meid",
            Kind::Esn => "esn",
            Kind::Iccid => "iccid",
            Kind::Eid => "eid",
            Kind::Gtin => "gtin",
            Kind::Gs1 => "gs1",
            Kind::Di => "di",
            Kind::Part => "part",
            Kind::Serial => "serial",
            Kind::Control => "control",
            Kind::Unknown => "unknown",
        }
    }

    /// Parses the name written by [`Kind::as_str`].
    pub fn parse(name: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Kind::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown kind {text:?}")))
    }
}

impl From<IdKind> for Kind {
    /// The kind a scan holding only this identifier is classified as.
    fn from(kind: IdKind) -> Kind {
        match kind {
            IdKind::Serial => Kind::Serial,
            IdKind::Imei => Kind::Imei,
            IdKind::Meid => Kind::Meid,
            IdKind::Esn => Kind::Esn,
            IdKind::Iccid => Kind::Iccid,
            IdKind::Eid => Kind::Eid,
            IdKind::Gtin => Kind::Gtin,
            IdKind::Part => Kind::Part,
        }
    }
}

impl std::fmt::Display for IdKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const ALL_KINDS: [Kind; 14] = [
    Kind::Imei,
    Kind::Imei14,
    Kind::Imeisv,
    Kind::Meid,
    Kind::Esn,
    Kind::Iccid,
    Kind::Eid,
    Kind::Gtin,
    Kind::Gs1,
    Kind::Di,
    Kind::Part,
    Kind::Serial,
    Kind::Control,
    Kind::Unknown,
];

/// Why a string was rejected: a stable code for machines and a one-line message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

/// Reason codes shared by the grammars, so callers can match on them without string typos.
pub mod reason {
    pub const EMPTY: &str = "empty";
    pub const TOO_LONG: &str = "too_long";
    pub const NON_ASCII: &str = "non_ascii";
    pub const CONTROL_CHAR: &str = "control_char";
    pub const BAD_CHARS: &str = "bad_chars";
    pub const BAD_CHECK_DIGIT: &str = "bad_check_digit";
    pub const BAD_PREFIX: &str = "bad_prefix";
    pub const OUT_OF_RANGE: &str = "out_of_range";
    pub const TOO_SHORT: &str = "too_short";
    /// A symbol whose symbology fixes its length (`]E3`, `]E4`) came with another length.
    pub const BAD_LENGTH: &str = "bad_length";
    pub const UNKNOWN_CONTROL: &str = "unknown_control";
}

/// One typed identifier carried by a scan, ready for pairing and matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifier {
    /// `imei` for IMEI, IMEI14 and IMEISV alike, since they name the same device.
    pub kind: IdKind,
    /// The normalised value as scanned (an IMEISV keeps its 16 digits).
    pub value: String,
    /// The key used for matching: IMEI14 for IMEIs, GTIN-14 for GTINs, hex for MEIDs.
    pub key: String,
}

/// The kinds of identifier a unit record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    Serial,
    Imei,
    Meid,
    Esn,
    Iccid,
    Eid,
    Gtin,
    Part,
}

impl IdKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Serial => "serial",
            IdKind::Imei => "imei",
            IdKind::Meid => "meid",
            IdKind::Esn => "esn",
            IdKind::Iccid => "iccid",
            IdKind::Eid => "eid",
            IdKind::Gtin => "gtin",
            IdKind::Part => "part",
        }
    }

    pub fn parse(name: &str) -> Option<IdKind> {
        [
            IdKind::Serial,
            IdKind::Imei,
            IdKind::Meid,
            IdKind::Esn,
            IdKind::Iccid,
            IdKind::Eid,
            IdKind::Gtin,
            IdKind::Part,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Another reading of the same string that the classifier considered, and why it lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alternative {
    pub kind: Kind,
    pub why_not: &'static str,
}

/// Everything the classifier learned beyond kind and value. Empty fields are left out of JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbology: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tac: Option<String>,
    /// The GSMA reporting body identifier: the first two digits of the TAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imei14: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The check digit found on the label (or computed, when the label carries none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_digit: Option<String>,
    /// The check digit the payload calls for, when it differs from the one found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_check_digit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pesn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meid_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meid_decimal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin14: Option<String>,
    /// The 2- or 5-digit add-on of an EAN/UPC symbol (`]E3`): an issue number or a price, never
    /// part of the GTIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_on: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<gs1::Element>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_identifiers: Vec<di::DataField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_format: Option<&'static str>,
    /// A prefix such as `S` or `1P` that was removed because the remainder has the expected shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripped_prefix: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// The result of classifying one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The input exactly as given (before trimming and prefix removal).
    pub input: String,
    pub kind: Kind,
    /// The normalised value: digits without separators, uppercase, prefixes removed.
    pub value: String,
    /// `None` when the string is valid.
    pub rejection: Option<Rejection>,
    pub identifiers: Vec<Identifier>,
    pub details: Details,
    pub alternatives: Vec<Alternative>,
    /// Set when the string is a station control barcode.
    pub control: Option<Control>,
}

impl Classification {
    pub fn valid(&self) -> bool {
        self.rejection.is_none()
    }

    pub fn reason_code(&self) -> Option<&'static str> {
        self.rejection.as_ref().map(|r| r.code)
    }

    pub fn reason(&self) -> Option<&str> {
        self.rejection.as_ref().map(|r| r.message.as_str())
    }

    /// The JSON object that `scanstation check --json` prints for this classification.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "input": self.input,
            "kind": self.kind,
            "valid": self.valid(),
            "value": self.value,
            "reason": self.reason(),
            "reason_code": self.reason_code(),
            "details": self.details,
            "identifiers": self.identifiers,
            "alternatives": self.alternatives,
        })
    }
}
