//! Made-up but valid device identifiers for one unit (phone or tablet).
//!
//! Every identifier is valid by construction (check digits computed with the crate's own
//! helpers) and shaped like the real ones in DOMAIN.md 1.2-1.12, so the classifier accepts it.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use crate::ident::checksum::{gtin_check_digit, luhn_check_digit};
use crate::ident::device::{eid_check_digits, imei_check_digit};

/// The identifiers printed on one unit's box, back label and SIM tray.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitData {
    /// Apple-like 12- or 10-character serial, or a Samsung-like 11-character `R...` serial.
    pub serial: String,
    /// Apple-like part number such as `MQ3D2LL/A`, or a Samsung model code such as `SM-S921B/DS`.
    pub part: String,
    /// One or two 15-digit IMEIs sharing a TAC.
    pub imeis: Vec<String>,
    /// 32-digit EID with valid MOD 97-10 check digits, for eSIM-capable units.
    pub eid: Option<String>,
    /// GTIN-13 (a leading 0 means the box prints it as UPC-A).
    pub gtin: String,
    /// 19-digit ICCID starting with 89, Luhn-valid, when a SIM card came with the unit.
    pub iccid: Option<String>,
}

impl UnitData {
    /// Samsung-like units print their serial without the `S` data identifier and have no `1P` part barcode.
    pub fn is_samsung(&self) -> bool {
        self.serial.len() == 11 && self.serial.starts_with('R')
    }

    /// The text of the serial barcode: `S` + serial on Apple-like boxes, the bare serial otherwise.
    pub fn serial_barcode(&self) -> String {
        if self.is_samsung() {
            self.serial.clone()
        } else {
            format!("S{}", self.serial)
        }
    }

    /// The GTIN-14 that a GS1 (01) element carries.
    pub fn gtin14(&self) -> String {
        format!("{:0>14}", self.gtin)
    }
}

/// Apple serial alphabet: uppercase letters and digits without the easily confused `I` and `O`.
const APPLE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const APPLE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Half-year and week codes of 12-character Apple serials (no vowels), DOMAIN.md 1.11.
const HALF_YEAR: &[u8] = b"CDFGHJKLMNPQRSTVWXYZ";
const WEEK: &[u8] = b"123456789CDFGHJKLMNPQRTVWXY";
const APPLE_PLANTS: &[&str] = &["C02", "F2L", "DNP", "G6T", "FK1", "DX3", "C39", "F17"];
const APPLE_REGIONS: &[&str] = &["LL/A", "B/A", "ZD/A", "ZP/A", "J/A", "CH/A", "FS/A", "KH/A"];
/// Apple's GS1 company prefixes as seen on US boxes; they start with 0, so the box shows UPC-A.
const APPLE_GTIN_PREFIXES: &[&str] = &["0190198", "0194252", "0194253", "0195949"];
/// Samsung factory codes; the second character is a digit so that `S` + serial never looks like
/// a 12-character Apple serial to the classifier.
const SAMSUNG_FACTORIES: &[&str] = &["58", "52", "F8", "R3", "Z5", "FA"];
const SAMSUNG_GTIN_PREFIXES: &[&str] = &["8806094", "8806095", "8801643"];
const SAMSUNG_MODELS: &[&str] = &["S921B", "S911B", "A546B", "S928B", "F946B", "A256B"];
const REPORTING_BODIES: &[&str] = &["35", "01", "86", "49"];
/// EID prefixes: `89`, a country code and an issuer code (DOMAIN.md 1.6).
const EID_PREFIXES: &[&str] = &["89049032", "89033023", "89044045", "89001012"];
const ICCID_PREFIXES: &[&str] = &["89014", "89441", "89490", "89330", "89860"];

fn apple_serial(rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        // The 12-character form: plant, half-year code, week code, 3 unique, 4 model/config.
        let mut s = String::with_capacity(12);
        s.push_str(rng.pick(APPLE_PLANTS).copied().unwrap_or("C02"));
        s.push(rng.char_of(HALF_YEAR));
        s.push(rng.char_of(WEEK));
        for _ in 0..7 {
            s.push(rng.char_of(APPLE_CHARS));
        }
        s
    } else {
        // The randomised 10-character form. The second character is a letter so that `S` + serial
        // (11 characters) cannot look like a legacy 11-character Apple serial, whose third
        // character is a digit, and the classifier still strips the `S`.
        let mut s = String::with_capacity(10);
        s.push(rng.char_of(APPLE_LETTERS));
        s.push(rng.char_of(APPLE_LETTERS));
        s.push(rng.char_of(b"0123456789"));
        for _ in 0..7 {
            s.push(rng.char_of(APPLE_CHARS));
        }
        s
    }
}

fn apple_part(rng: &mut Rng) -> String {
    // Shaped like MQ3D2LL/A: M, a letter, a digit, a letter, a digit, then the region suffix.
    format!(
        "M{}{}{}{}{}",
        rng.char_of(APPLE_LETTERS),
        rng.char_of(b"0123456789"),
        rng.char_of(APPLE_LETTERS),
        rng.char_of(b"0123456789"),
        rng.pick(APPLE_REGIONS).copied().unwrap_or("LL/A")
    )
}

fn samsung_serial(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(11);
    s.push('R');
    s.push_str(rng.pick(SAMSUNG_FACTORIES).copied().unwrap_or("58"));
    s.push(rng.char_of(b"NPRSTWXY"));
    s.push(rng.char_of(b"123456789ABC"));
    for _ in 0..6 {
        s.push(rng.char_of(APPLE_CHARS));
    }
    s
}

fn with_luhn(payload: String) -> String {
    let cd = luhn_check_digit(payload.as_bytes(), 10).unwrap_or(0);
    format!("{payload}{cd}")
}

fn gtin13(prefix: &str, rng: &mut Rng) -> String {
    let payload = format!(
        "{prefix}{}",
        rng.digits(12usize.saturating_sub(prefix.len()))
    );
    let cd = gtin_check_digit(payload.as_bytes()).unwrap_or(0);
    format!("{payload}{cd}")
}

fn imei(tac: &str, snr: &str) -> String {
    let payload = format!("{tac}{snr}");
    let cd = imei_check_digit(&payload).unwrap_or('0');
    format!("{payload}{cd}")
}

/// A random unit: Apple-like about two times in three, Samsung-like otherwise.
pub fn random_unit(rng: &mut Rng) -> UnitData {
    let samsung = rng.chance(0.35);
    let (serial, part, gtin) = if samsung {
        let model = rng.pick(SAMSUNG_MODELS).copied().unwrap_or("S921B");
        (
            samsung_serial(rng),
            format!("SM-{model}/DS"),
            gtin13(
                rng.pick(SAMSUNG_GTIN_PREFIXES)
                    .copied()
                    .unwrap_or("8806094"),
                rng,
            ),
        )
    } else {
        (
            apple_serial(rng),
            apple_part(rng),
            gtin13(
                rng.pick(APPLE_GTIN_PREFIXES).copied().unwrap_or("0194252"),
                rng,
            ),
        )
    };
    let tac = format!(
        "{}{}",
        rng.pick(REPORTING_BODIES).copied().unwrap_or("35"),
        rng.digits(6)
    );
    let snr = rng.digits(6);
    let mut imeis = vec![imei(&tac, &snr)];
    if rng.chance(0.6) {
        // The second IMEI of a dual-SIM unit shares the TAC and usually has a nearby serial.
        let next = snr
            .parse::<u32>()
            .map_or(0, |n| (n + 1 + rng.below(8) as u32) % 1_000_000);
        imeis.push(imei(&tac, &format!("{next:06}")));
    }
    let eid = rng.chance(if samsung { 0.4 } else { 0.75 }).then(|| {
        let prefix = rng.pick(EID_PREFIXES).copied().unwrap_or("89049032");
        let payload = format!("{prefix}{}", rng.digits(30 - prefix.len()));
        let cd = eid_check_digits(&payload).unwrap_or_else(|| "00".to_owned());
        format!("{payload}{cd}")
    });
    let iccid = rng.chance(0.5).then(|| {
        let prefix = rng.pick(ICCID_PREFIXES).copied().unwrap_or("89014");
        with_luhn(format!("{prefix}{}", rng.digits(18 - prefix.len())))
    });
    UnitData {
        serial,
        part,
        imeis,
        eid,
        gtin,
        iccid,
    }
}

/// A random unit with two IMEIs whose second one is printed with a wrong check digit, as a
/// misprinted or tampered label would show it; returns the unit and that invalid IMEI.
///
/// The other identifiers stay valid, so a station should record the unit and flag the IMEI.
pub fn unit_with_invalid_imei(rng: &mut Rng) -> (UnitData, String) {
    let mut unit = random_unit(rng);
    let first = unit
        .imeis
        .first()
        .cloned()
        .unwrap_or_else(|| imei("35000000", "000000"));
    let tac = first.get(..8).unwrap_or("35000000").to_owned();
    let snr = first
        .get(8..14)
        .and_then(|s| s.parse::<u32>().ok())
        .map_or(0, |n| (n + 1 + rng.below(8) as u32) % 1_000_000);
    let valid = imei(&tac, &format!("{snr:06}"));
    // Any other digit breaks the Luhn check: shift the right one by 1 to 9.
    let good = valid
        .as_bytes()
        .last()
        .map_or(0, |b| b.saturating_sub(b'0'));
    let wrong = (good + 1 + rng.below(9) as u8) % 10;
    let invalid = format!("{}{wrong}", valid.get(..14).unwrap_or_default());
    unit.imeis = vec![first, invalid.clone()];
    (unit, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::checksum::{luhn_valid, mod97};

    #[test]
    fn identifiers_are_valid() {
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let u = random_unit(&mut rng);
            assert!(matches!(u.serial.len(), 10..=12), "{u:?}");
            assert!(!u.imeis.is_empty() && u.imeis.len() <= 2);
            for i in &u.imeis {
                assert_eq!(i.len(), 15);
                assert!(luhn_valid(i.as_bytes()), "{i}");
                assert_eq!(i[..8], u.imeis[0][..8]);
            }
            if let Some(e) = &u.eid {
                assert_eq!(e.len(), 32);
                assert_eq!(mod97(e.as_bytes()), Some(1));
            }
            if let Some(c) = &u.iccid {
                assert_eq!(c.len(), 19);
                assert!(c.starts_with("89") && luhn_valid(c.as_bytes()));
            }
            assert_eq!(u.gtin.len(), 13);
            assert!(crate::ident::gtin::check_digit_ok(&u.gtin));
        }
    }

    #[test]
    fn the_invalid_imei_fails_only_its_check_digit() {
        let mut rng = Rng::new(8);
        for _ in 0..200 {
            let (u, bad) = unit_with_invalid_imei(&mut rng);
            assert_eq!(u.imeis.len(), 2);
            assert_eq!(u.imeis[1], bad);
            assert!(luhn_valid(u.imeis[0].as_bytes()));
            assert_eq!(bad.len(), 15);
            assert!(!luhn_valid(bad.as_bytes()), "{bad}");
            assert_eq!(bad[..8], u.imeis[0][..8]);
        }
    }
}
