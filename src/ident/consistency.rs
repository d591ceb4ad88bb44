//! Label consistency: do one unit's identifiers describe one device?
//!
//! A relabelled or counterfeit box pairs identifiers that each pass their own check (a valid
//! IMEI, a valid GTIN, a well-formed serial) but do not belong together. [`check`] looks at one
//! unit's identifiers with the TAC table and the GS1 prefix table and returns a [`Finding`] for
//! each contradiction it can prove. It is pure: no I/O, no clock.
//!
//! # Rules
//!
//! Every rule needs positive knowledge on both sides. An unknown TAC, a GTIN whose prefix is
//! not in the table, or a serial with no distinctive shape gives no finding: the station never
//! guesses, because a finding quarantines the unit.
//!
//! - `imei_brand_mismatch`: two IMEIs whose TACs are both known name different brands after
//!   [`normalise_brand`] (case, punctuation and company suffixes such as "Inc.", "Electronics",
//!   "Co., Ltd" ignored; the Osmocom data writes Samsung as `Samsung`, ` Samsung` and
//!   `SAMSUNG`, and Apple as `Apple` and ` Apple`).
//! - `imei_model_mismatch`: same brand, but the models are provably different (see
//!   [`same_model`]). Model names in the Osmocom data are free text (`iPhone 6 (A1549)` and
//!   `iPhone 6 (A1586)` are one phone in two regions; `GT-S7562`, `Samsung GT-S7562` and
//!   `GALAXY S DUOS GT-S7562` are one phone), so models differ only when their model codes
//!   (Apple `A1234`, Samsung `GT-`/`SM-`/`SGH-`... codes without their region suffix) are
//!   disjoint and their names differ, or when both have names that differ and no shared code.
//! - `serial_brand_mismatch`: the serial has a shape that only one of the two vendors uses and
//!   the TAC names the other vendor:
//!   - an Apple TAC with a Samsung 11-character serial (`R`, factory, year letter, month,
//!     unit; e.g. `R58M315CL4T`). Apple's 11-character serials have digits where Samsung has
//!     its year letter, and its other serials are 10 or 12 long, so no Apple serial has this shape;
//!   - a Samsung TAC with a dated 12-character Apple serial (half-year and week codes at
//!     positions 4 and 5; e.g. `C02L13ECF8J2`). Samsung phone serials are 11 long.
//!
//!   Deliberately not flagged: 10-character serials (Apple's random serials share that
//!   length and charset with HP and others), 12-character serials without Apple's date codes,
//!   legacy 11-character Apple-shaped serials on a Samsung TAC (old Samsung phones are not
//!   documented well enough to rule them out), and every brand other than Apple and Samsung.
//! - `gtin_brand_mismatch`: the GTIN's company prefix belongs, per the [`GtinPrefixes`] table,
//!   to a brand other than the TAC's brand.
//!
//! Serial and GTIN are compared with the brand of every known TAC of the unit, so a unit whose
//! two IMEIs disagree can also show which of them the box agrees with.

use std::collections::BTreeSet;

use super::flag::{Flag, FlagCode};
use super::gtin_prefixes::GtinPrefixes;
use super::serial;
use super::tac::{TacInfo, TacLookup};
use super::{IdKind, Identifier};

/// One contradiction between a unit's identifiers: a flag with a consistency code
/// ([`FlagCode::is_consistency`]) and a one-line message that names the values involved.
pub type Finding = Flag;

/// Company-form words dropped from the end of a brand name. Dropping too much can only merge
/// two brands and so hide a finding; it can never invent one.
const BRAND_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "spa",
    "nv",
    "bv",
    "ab",
    "oy",
    "kk",
    "pte",
    "pvt",
    "electronics",
    "electronic",
    "computer",
    "computers",
    "communication",
    "communications",
    "telecom",
    "mobile",
    "technology",
    "technologies",
    "international",
    "group",
    "holdings",
];

/// Spellings of one brand that suffix removal does not unify, as seen in the Osmocom data
/// (`1+`, `MI`, `ASUSTek Computer Inc`) and in company names (`Hewlett Packard`).
const BRAND_ALIASES: &[(&str, &str)] = &[
    ("1", "oneplus"),
    ("one plus", "oneplus"),
    ("mi", "xiaomi"),
    ("asustek", "asus"),
    ("hewlett packard", "hp"),
];

/// The comparable form of a brand name: lower case, punctuation removed, company suffixes
/// ("Inc.", "Electronics", "Co., Ltd", ...) dropped, known aliases unified.
/// `"Samsung Electronics Co., Ltd."`, `" SAMSUNG"` and `"Samsung"` all give `samsung`.
pub fn normalise_brand(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1
        && words
            .last()
            .is_some_and(|last| BRAND_SUFFIXES.contains(last))
    {
        words.pop();
    }
    let joined = words.join(" ");
    BRAND_ALIASES
        .iter()
        .find(|(alias, _)| *alias == joined)
        .map_or(joined, |(_, brand)| (*brand).to_owned())
}

/// Words in model names that name a variant of the same phone (SIM count, radio), not another phone.
const MODEL_QUALIFIERS: &[&str] = &[
    "duos", "ds", "dual", "sim", "lte", "4g", "5g", "gsm", "cdma", "umts", "global", "unlocked",
];

/// Samsung model code prefixes (`GT-I9300`, `SM-G950F`, `SGH-S300`, ...).
const SAMSUNG_CODE_PREFIXES: &[&str] = &["gt", "sm", "sgh", "sch", "sph", "shv", "shw"];

/// A model code in comparable form, or `None` for an ordinary word.
///
/// Apple `A` + 4 digits is kept whole. A Samsung code is cut after its first run of digits,
/// because the letters after it name the region or SIM variant of one model
/// (`SM-G950F`, `SM-G950FD` and `SM-G950U` are all one Galaxy S8).
fn model_code(token: &str) -> Option<String> {
    let compact: String = token.chars().filter(|c| *c != '-').collect();
    let b = compact.as_bytes();
    if b.len() == 5 && b.first() == Some(&b'a') && b.iter().skip(1).all(u8::is_ascii_digit) {
        return Some(compact);
    }
    for prefix in SAMSUNG_CODE_PREFIXES {
        let Some(rest) = compact.strip_prefix(prefix) else {
            continue;
        };
        let mut chars = rest.chars();
        let Some(series) = chars.next().filter(char::is_ascii_alphabetic) else {
            continue;
        };
        let digits: String = chars.take_while(char::is_ascii_digit).collect();
        if digits.len() >= 3 {
            return Some(format!("{prefix}{series}{digits}"));
        }
    }
    None
}

/// A model name split into model codes and the remaining name words.
struct ModelParts {
    codes: BTreeSet<String>,
    name: Vec<String>,
}

fn model_parts(brand: &str, model: &str) -> ModelParts {
    let lower = model.to_lowercase();
    let brand_words: Vec<&str> = brand.split(' ').collect();
    let mut codes = BTreeSet::new();
    let mut name = Vec::new();
    let mut depth = 0usize;
    // Split on everything but letters, digits and '-', keeping parentheses as their own tokens
    // so that parenthesised parts (Osmocom's "(A1586)") count for codes but not for the name.
    let spaced: String = lower
        .chars()
        .map(|c| match c {
            '(' => " ( ".to_owned(),
            ')' => " ) ".to_owned(),
            c if c.is_alphanumeric() || c == '-' => c.to_string(),
            _ => " ".to_owned(),
        })
        .collect();
    for token in spaced.split_whitespace() {
        match token {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ => {
                if let Some(code) = model_code(token) {
                    codes.insert(code);
                } else if depth == 0 {
                    let word = token.trim_matches('-');
                    if !word.is_empty()
                        && !brand_words.contains(&word)
                        && !MODEL_QUALIFIERS.contains(&word)
                    {
                        name.push(word.to_owned());
                    }
                }
            }
        }
    }
    ModelParts { codes, name }
}

/// Whether two model names of one brand are the same phone: `Some(true)` when a model code is
/// shared or the names agree, `Some(false)` when they provably differ, `None` when the names
/// cannot be compared (for example a bare model code against a marketing name).
pub fn same_model(brand: &str, a: &str, b: &str) -> Option<bool> {
    if a.trim().eq_ignore_ascii_case(b.trim()) {
        return Some(true);
    }
    let brand = normalise_brand(brand);
    let a = model_parts(&brand, a);
    let b = model_parts(&brand, b);
    if a.codes.intersection(&b.codes).next().is_some() {
        return Some(true);
    }
    if !a.name.is_empty() && a.name == b.name {
        return Some(true);
    }
    if (!a.codes.is_empty() && !b.codes.is_empty()) || (!a.name.is_empty() && !b.name.is_empty()) {
        return Some(false);
    }
    None
}

/// The vendor a serial's shape proves, for the two vendors whose formats are distinctive enough.
fn serial_vendor(value: &str) -> Option<(&'static str, &'static str)> {
    match serial::serial_format(value) {
        Some("samsung-11") => Some(("samsung", "a Samsung-format serial")),
        Some("apple-12") if serial::is_dated_apple12(value) => {
            Some(("apple", "an Apple-format serial"))
        }
        _ => None,
    }
}

/// An IMEI of the unit with its known TAC.
struct KnownImei<'a> {
    value: &'a str,
    tac: &'a str,
    info: &'a TacInfo,
    brand: String,
}

impl KnownImei<'_> {
    fn describe(&self) -> String {
        format!(
            "IMEI {} (TAC {}: {} {})",
            self.value,
            self.tac,
            self.info.brand.trim(),
            self.info.model.trim()
        )
    }
}

/// Checks one unit's identifiers, given as (kind, key) pairs in slot order, for example
/// `unit.identifiers.iter().map(|i| (i.kind, i.key.as_str()))`. Values work as well as keys:
/// an IMEI is read by its first 8 digits (its TAC), a GTIN may be 12, 13 or 14 digits.
pub fn check(
    ids: &[(IdKind, &str)],
    tacs: &dyn TacLookup,
    prefixes: &GtinPrefixes,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut push = |finding: Finding| {
        if !findings.contains(&finding) {
            findings.push(finding);
        }
    };

    let imeis: Vec<KnownImei> = ids
        .iter()
        .filter(|(kind, _)| *kind == IdKind::Imei)
        .filter_map(|&(_, value)| {
            let tac = value.get(..8)?;
            let info = tacs.lookup(tac)?;
            Some(KnownImei {
                value,
                tac,
                info,
                brand: normalise_brand(&info.brand),
            })
        })
        .collect();

    // IMEI against IMEI: each later IMEI against the first one (IMEI1).
    if let Some((first, rest)) = imeis.split_first() {
        for other in rest.iter().filter(|o| o.tac != first.tac) {
            if first.brand.is_empty() || other.brand.is_empty() {
                continue;
            }
            if first.brand != other.brand {
                push(Finding {
                    code: FlagCode::ImeiBrandMismatch,
                    message: format!(
                        "IMEIs of different brands: {} and {}",
                        first.describe(),
                        other.describe()
                    ),
                });
            } else if same_model(&first.info.brand, &first.info.model, &other.info.model)
                == Some(false)
            {
                push(Finding {
                    code: FlagCode::ImeiModelMismatch,
                    message: format!(
                        "IMEIs of different models: {} and {}",
                        first.describe(),
                        other.describe()
                    ),
                });
            }
        }
    }

    // Each distinct brand, with the first IMEI that names it.
    let mut brands: Vec<&KnownImei> = Vec::new();
    for imei in &imeis {
        if !imei.brand.is_empty() && !brands.iter().any(|b| b.brand == imei.brand) {
            brands.push(imei);
        }
    }

    for (kind, value) in ids {
        match kind {
            IdKind::Serial => {
                let Some((vendor, shape)) = serial_vendor(value) else {
                    continue;
                };
                for imei in brands.iter().filter(|i| {
                    matches!(i.brand.as_str(), "apple" | "samsung") && i.brand != vendor
                }) {
                    push(Finding {
                        code: FlagCode::SerialBrandMismatch,
                        message: format!(
                            "serial {value} is {shape} but {} is {}",
                            imei.describe(),
                            imei.info.brand.trim()
                        ),
                    });
                }
            }
            IdKind::Gtin => {
                let Some(entry) = prefixes.lookup(value) else {
                    continue;
                };
                let gtin_brand = normalise_brand(&entry.brand);
                if gtin_brand.is_empty() {
                    continue;
                }
                for imei in brands.iter().filter(|i| i.brand != gtin_brand) {
                    push(Finding {
                        code: FlagCode::GtinBrandMismatch,
                        message: format!(
                            "GTIN {value} has the {} company prefix {} but {} is {}",
                            entry.brand.trim(),
                            entry.prefix,
                            imei.describe(),
                            imei.info.brand.trim()
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    findings
}

/// [`check`] for identifiers as the classifier returns them (kind and matching key).
pub fn check_identifiers(
    ids: &[Identifier],
    tacs: &dyn TacLookup,
    prefixes: &GtinPrefixes,
) -> Vec<Finding> {
    let pairs: Vec<(IdKind, &str)> = ids.iter().map(|i| (i.kind, i.key.as_str())).collect();
    check(&pairs, tacs, prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::tac::MemoryTacs;

    /// A small TAC table with the brand spellings the Osmocom export really uses.
    fn tacs() -> MemoryTacs {
        let mut t = MemoryTacs::default();
        for (tac, brand, model) in [
            ("35201307", " Apple", "iPhone 6 (A1549)"),
            ("35201407", "Apple", "iPhone 6 (A1586)"),
            ("35200107", " Apple", "iPhone 6 Plus (A1522)"),
            ("01334500", "Apple", "iPhone 5"),
            ("35332510", "Apple Inc.", "iPhone 5"),
            ("33002145", " Samsung", "Samsung GT-I9300"),
            ("35444704", " SAMSUNG", "SAMSUNG GT-S5310"),
            (
                "35153306",
                "Samsung Electronics Co., Ltd.",
                "Samsung GT-S5310",
            ),
            ("35154106", " Samsung", "GALAXY S4 MINI GT-I9190"),
            ("35675904", "Oppo", "N1"),
        ] {
            t.insert(
                tac,
                TacInfo {
                    brand: brand.to_owned(),
                    model: model.to_owned(),
                },
            );
        }
        t
    }

    /// An IMEI14 key with the given TAC.
    fn imei(tac: &str) -> String {
        format!("{tac}123456")
    }

    fn codes(findings: &[Finding]) -> Vec<FlagCode> {
        findings.iter().map(|f| f.code).collect()
    }

    fn run(ids: &[(IdKind, &str)]) -> Vec<Finding> {
        check(ids, &tacs(), &GtinPrefixes::builtin())
    }

    #[test]
    fn brand_names_normalise() {
        for (raw, want) in [
            ("Apple", "apple"),
            (" Apple", "apple"),
            ("Apple Inc.", "apple"),
            ("Apple Computer, Inc.", "apple"),
            ("Samsung", "samsung"),
            (" SAMSUNG", "samsung"),
            ("Samsung Electronics Co., Ltd.", "samsung"),
            ("SAMSUNG ELECTRONICS", "samsung"),
            ("LG Electronics", "lg"),
            ("ASUSTek Computer Inc", "asus"),
            ("MI", "xiaomi"),
            ("1+", "oneplus"),
            ("Sony Ericsson", "sony ericsson"),
            ("Mobile", "mobile"),
            ("", ""),
        ] {
            assert_eq!(normalise_brand(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn models_compare_by_code_and_name() {
        // Same phone: regional A-numbers, Samsung spellings and suffixes, Duos.
        assert_eq!(
            same_model("Apple", "iPhone 6 (A1549)", "iPhone 6 (A1586)"),
            Some(true)
        );
        assert_eq!(
            same_model("Apple", "iPhone 5S (A1530)", "iPhone S (A1530)"),
            Some(true)
        );
        assert_eq!(
            same_model("Apple", "iPhone 4S (A1387)", "iPhone 4s"),
            Some(true)
        );
        assert_eq!(
            same_model("Apple", "iPhone 5S (A118)", "iPhone 5S (A1453)"),
            Some(true)
        );
        assert_eq!(
            same_model("Samsung", "GT-S7562", "Samsung GALAXY S DUOS GT-S7562"),
            Some(true)
        );
        assert_eq!(
            same_model("Samsung", "SM-G950F", "Galaxy S8 SM-G950FD"),
            Some(true)
        );
        assert_eq!(
            same_model("Samsung", "Samsung Galaxy Note 2", "Galaxy Note 2 GT-N7100"),
            Some(true)
        );
        assert_eq!(
            same_model("Samsung", "Galaxy S8 Duos", "Galaxy S8"),
            Some(true)
        );
        // Different phones.
        assert_eq!(
            same_model("Apple", "iPhone 6 (A1586)", "iPhone 6 Plus (A1522)"),
            Some(false)
        );
        assert_eq!(
            same_model("Apple", "iPhone 7", "iPhone 7 Plus"),
            Some(false)
        );
        assert_eq!(
            same_model("Samsung", "Samsung GT-S7262", "GT-S7562"),
            Some(false)
        );
        assert_eq!(
            same_model("Samsung", "Galaxy Note N7000", "Galaxy Note 2 GT-N7100"),
            Some(false)
        );
        // Not comparable: a bare code against a name without one.
        assert_eq!(
            same_model("Samsung", "Samsung GT-S7262", "Galaxy Star Pro"),
            None
        );
        assert_eq!(same_model("Samsung", "", "Galaxy S8"), None);
    }

    #[test]
    fn imeis_of_different_brands() {
        let a = imei("35201307");
        let s = imei("33002145");
        let f = run(&[(IdKind::Imei, &a), (IdKind::Imei, &s)]);
        assert_eq!(codes(&f), [FlagCode::ImeiBrandMismatch]);
        assert!(
            f[0].message.contains(&a) && f[0].message.contains(&s),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("Samsung GT-I9300"));
    }

    #[test]
    fn imeis_of_one_brand_spelled_differently_agree() {
        // " SAMSUNG" and "Samsung Electronics Co., Ltd." for one model.
        let a = imei("35444704");
        let b = imei("35153306");
        assert!(run(&[(IdKind::Imei, &a), (IdKind::Imei, &b)]).is_empty());
        // "Apple" and "Apple Inc." for one model, and one TAC twice.
        let c = imei("01334500");
        let d = imei("35332510");
        assert!(run(&[(IdKind::Imei, &c), (IdKind::Imei, &d)]).is_empty());
        assert!(run(&[(IdKind::Imei, &c), (IdKind::Imei, &c)]).is_empty());
        // Two regional variants of one iPhone.
        let e = imei("35201307");
        let g = imei("35201407");
        assert!(run(&[(IdKind::Imei, &e), (IdKind::Imei, &g)]).is_empty());
    }

    #[test]
    fn imeis_of_different_models() {
        let a = imei("35201307");
        let b = imei("35200107");
        let f = run(&[(IdKind::Imei, &a), (IdKind::Imei, &b)]);
        assert_eq!(codes(&f), [FlagCode::ImeiModelMismatch]);
        assert!(
            f[0].message.contains("iPhone 6 Plus (A1522)"),
            "{}",
            f[0].message
        );
        let s = imei("33002145");
        let m = imei("35154106");
        assert_eq!(
            codes(&run(&[(IdKind::Imei, &s), (IdKind::Imei, &m)])),
            [FlagCode::ImeiModelMismatch]
        );
    }

    #[test]
    fn unknown_tacs_never_give_findings() {
        let known = imei("35201307");
        let unknown = imei("99999999");
        assert!(run(&[(IdKind::Imei, &known), (IdKind::Imei, &unknown)]).is_empty());
        // Without any known TAC neither serial nor GTIN can be judged.
        assert!(
            run(&[
                (IdKind::Imei, &unknown),
                (IdKind::Serial, "R58M315CL4T"),
                (IdKind::Gtin, "00195949038440"),
            ])
            .is_empty()
        );
        // Junk keys are skipped, not guessed at.
        assert!(
            run(&[
                (IdKind::Imei, "3520"),
                (IdKind::Imei, "é"),
                (IdKind::Imei, "")
            ])
            .is_empty()
        );
    }

    #[test]
    fn serial_against_tac_brand() {
        let apple = imei("35201307");
        let samsung = imei("33002145");
        // An Apple TAC with a Samsung serial.
        let f = run(&[(IdKind::Imei, &apple), (IdKind::Serial, "R58M315CL4T")]);
        assert_eq!(codes(&f), [FlagCode::SerialBrandMismatch]);
        assert!(
            f[0].message.contains("R58M315CL4T") && f[0].message.contains(&apple),
            "{}",
            f[0].message
        );
        // A Samsung TAC with a dated Apple serial.
        let f = run(&[(IdKind::Imei, &samsung), (IdKind::Serial, "C02L13ECF8J2")]);
        assert_eq!(codes(&f), [FlagCode::SerialBrandMismatch]);
        // Matching vendors.
        assert!(run(&[(IdKind::Imei, &apple), (IdKind::Serial, "C02L13ECF8J2")]).is_empty());
        assert!(run(&[(IdKind::Imei, &samsung), (IdKind::Serial, "R58M315CL4T")]).is_empty());
        // Weak shapes are never held against a brand: 10 characters (HP's SGH327SZYD, Apple's
        // random serials), undated 12 characters, legacy Apple 11 on a Samsung TAC.
        for weak in ["SGH327SZYD", "XQ7RJ2K94M", "DNPA2ABCDEFG", "5K31926NDZZ"] {
            assert!(
                run(&[(IdKind::Imei, &samsung), (IdKind::Serial, weak)]).is_empty(),
                "{weak}"
            );
            assert!(
                run(&[(IdKind::Imei, &apple), (IdKind::Serial, weak)]).is_empty(),
                "{weak}"
            );
        }
        // Other brands have no serial rules.
        let oppo = imei("35675904");
        assert!(run(&[(IdKind::Imei, &oppo), (IdKind::Serial, "R58M315CL4T")]).is_empty());
        assert!(run(&[(IdKind::Imei, &oppo), (IdKind::Serial, "C02L13ECF8J2")]).is_empty());
    }

    #[test]
    fn gtin_against_tac_brand() {
        let apple = imei("35201307");
        let samsung = imei("33002145");
        // The Apple box GTIN of DOMAIN.md 1.13 on a Samsung phone, as GTIN-14 key and UPC value.
        for gtin in ["00195949038440", "195949038440"] {
            let f = run(&[(IdKind::Imei, &samsung), (IdKind::Gtin, gtin)]);
            assert_eq!(codes(&f), [FlagCode::GtinBrandMismatch], "{gtin}");
            assert!(
                f[0].message.contains(gtin) && f[0].message.contains("0195949"),
                "{}",
                f[0].message
            );
        }
        // A Samsung GTIN on an iPhone.
        let f = run(&[(IdKind::Imei, &apple), (IdKind::Gtin, "00887276752815")]);
        assert_eq!(codes(&f), [FlagCode::GtinBrandMismatch]);
        // Matching brands and unknown prefixes.
        assert!(run(&[(IdKind::Imei, &apple), (IdKind::Gtin, "00195949038440")]).is_empty());
        assert!(run(&[(IdKind::Imei, &samsung), (IdKind::Gtin, "00887276752815")]).is_empty());
        assert!(run(&[(IdKind::Imei, &apple), (IdKind::Gtin, "04006381333931")]).is_empty());
        // A brand the prefix table spells differently still matches.
        let mut mine = GtinPrefixes::parse(
            "prefix,brand,source\n0842776,SAMSUNG ELECTRONICS CO. LTD,test\n",
            "t.csv",
        )
        .unwrap_or_default();
        mine.extend(GtinPrefixes::builtin());
        assert!(
            check(
                &[(IdKind::Imei, &samsung), (IdKind::Gtin, "842776000004")],
                &tacs(),
                &mine
            )
            .is_empty()
        );
        // No prefix table: nothing to say.
        assert!(
            check(
                &[(IdKind::Imei, &samsung), (IdKind::Gtin, "00195949038440")],
                &tacs(),
                &GtinPrefixes::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_relabelled_box_reports_every_contradiction_once() {
        let apple = imei("35201307");
        let samsung = imei("33002145");
        let ids = [
            (IdKind::Serial, "R58M315CL4T"),
            (IdKind::Imei, apple.as_str()),
            (IdKind::Imei, samsung.as_str()),
            (IdKind::Gtin, "00195949038440"),
            (IdKind::Gtin, "00195949038440"),
        ];
        let f = run(&ids);
        assert_eq!(
            codes(&f),
            [
                FlagCode::ImeiBrandMismatch,
                FlagCode::SerialBrandMismatch,
                FlagCode::GtinBrandMismatch
            ],
            "{f:?}"
        );
        assert!(f.iter().all(|x| x.code.is_consistency()));
        assert!(f.iter().all(|x| !x.message.contains('\n')));
    }

    #[test]
    fn identifiers_from_the_classifier() {
        let tacs = tacs();
        let apple = crate::ident::classify("352013071234568", None, &tacs);
        let gtin = crate::ident::classify("0887276752815", None, &tacs);
        let mut ids = apple.identifiers.clone();
        ids.extend(gtin.identifiers.clone());
        assert_eq!(ids.len(), 2, "{ids:?}");
        let f = check_identifiers(&ids, &tacs, &GtinPrefixes::builtin());
        assert_eq!(codes(&f), [FlagCode::GtinBrandMismatch]);
    }

    #[test]
    fn codes_are_recognised() {
        let consistency: Vec<FlagCode> = FlagCode::ALL
            .iter()
            .copied()
            .filter(|c| c.is_consistency())
            .collect();
        assert_eq!(consistency.len(), 4);
        assert!(!FlagCode::InvalidScan.is_consistency());
        assert!(!FlagCode::Conflict.is_consistency());
    }
}
