//! Conformance vectors written from the published rules (GS1 General Specifications and Barcode
//! Syntax Dictionary, ISO/IEC 15420 and 15424 symbology identifiers, 3GPP TS 23.003, 3GPP2
//! S.R0048, ITU-T E.118, GSMA SGP.29, ISO 3166-1), one line and one reason each, plus a named
//! regression test for every conformance defect of issue 9.
//!
//! The table test checks every vector and prints every disagreement before it fails, so one run
//! shows the whole state of conformance rather than the first miss.

use scanstation::ident::{Aim, Classification, Kind, NoTacs, classify};

/// What a vector expects: a valid classification of a kind with a normalised value, or a rejection
/// of a kind with a reason code.
#[derive(Debug, Clone, Copy)]
enum Want {
    Valid(Kind, &'static str),
    Invalid(Kind, &'static str),
}

use Want::{Invalid, Valid};

/// One vector: the symbology identifier passed alongside the text (empty for none), the decoded
/// text, the expectation, and why the rules say so.
type Vector = (&'static str, &'static str, Want, &'static str);

#[rustfmt::skip]
const VECTORS: &[Vector] = &[
    // IMEI, IMEI14 and IMEISV (3GPP TS 23.003: 8-digit TAC, 6-digit serial, Luhn check digit).
    ("", "353918051234561", Valid(Kind::Imei, "353918051234561"), "Luhn check digit 1 is right"),
    ("", "353918051234562", Invalid(Kind::Imei, "bad_check_digit"), "Luhn calls for 1, not 2"),
    ("", "867231051234568", Valid(Kind::Imei, "867231051234568"), "Luhn check digit 8 is right"),
    ("", "867231051234563", Invalid(Kind::Imei, "bad_check_digit"), "one digit off the Luhn sum"),
    ("", "011948000000007", Valid(Kind::Imei, "011948000000007"), "reporting body 01 keeps its zero"),
    ("", "353918-051234-56-1", Valid(Kind::Imei, "353918051234561"), "dashes between groups are layout"),
    ("]C0", "353918051234561", Valid(Kind::Imei, "353918051234561"), "Code 128 carries IMEIs"),
    ("", "]C0353918051234561", Valid(Kind::Imei, "353918051234561"), "AIM prefix in the text is split off"),
    ("", "35391805123456", Valid(Kind::Imei14, "35391805123456"), "14 digits, not a valid GTIN-14: IMEI without check digit"),
    ("", "3539180512345601", Valid(Kind::Imeisv, "3539180512345601"), "16 digits: TAC, serial and SVN 01"),
    ("", "3539180512345699", Valid(Kind::Imeisv, "3539180512345699"), "an IMEISV has no check digit to fail"),
    // MEID, hex form (3GPP2 S.R0048: 14 hex digits, optional mod-16 Luhn check, RR >= A0).
    ("", "A0000000000000", Valid(Kind::Meid, "A0000000000000"), "lowest regional code A0"),
    ("", "A00000000000006", Valid(Kind::Meid, "A00000000000006"), "hex Luhn check digit 6 is right"),
    ("", "A00000000000007", Invalid(Kind::Meid, "bad_check_digit"), "hex Luhn calls for 6"),
    ("", "A10000009296F2F", Valid(Kind::Meid, "A10000009296F2F"), "hex Luhn check digit F is right"),
    ("", "FFFFFFFFFFFFFFE", Valid(Kind::Meid, "FFFFFFFFFFFFFFE"), "highest MEID, check digit E"),
    ("", "FFFFFFFFFFFFFFF", Invalid(Kind::Meid, "bad_check_digit"), "highest MEID calls for E"),
    ("", "a10000009296f2", Valid(Kind::Meid, "A10000009296F2"), "lower-case hex is uppercased"),
    ("", "9F000000000000", Invalid(Kind::Meid, "bad_prefix"), "hex form below A0 is in IMEI space"),
    // MEID, decimal form (10 digits of 32 bits, 8 digits of 24 bits, optional decimal Luhn).
    ("", "268435456000000000", Valid(Kind::Meid, "268435456000000000"), "decimal form of A0000000000000"),
    ("", "2684354560000000004", Valid(Kind::Meid, "2684354560000000004"), "decimal form with Luhn check 4"),
    ("", "2684354560000000005", Invalid(Kind::Meid, "bad_check_digit"), "decimal Luhn calls for 4"),
    ("", "429496729516777215", Valid(Kind::Meid, "429496729516777215"), "both parts at their maximum"),
    ("", "4294967295167772153", Valid(Kind::Meid, "4294967295167772153"), "maximum with Luhn check 3"),
    ("", "256691404901193046", Valid(Kind::Meid, "256691404901193046"), "below A0 (hex 99000001123456) is still a decimal MEID"),
    ("", "2566914049011930468", Valid(Kind::Meid, "2566914049011930468"), "below A0 with its Luhn check 8"),
    ("", "2566914049011930469", Invalid(Kind::Meid, "bad_check_digit"), "below A0, Luhn calls for 8"),
    ("", "000000000100000001", Valid(Kind::Meid, "000000000100000001"), "small parts fit their bits"),
    ("", "429496729616777215", Valid(Kind::Serial, "429496729616777215"), "manufacturer part overflows 32 bits: not a MEID"),
    ("", "429496729516777216", Valid(Kind::Serial, "429496729516777216"), "serial part overflows 24 bits: not a MEID"),
    ("", "123456789099999999", Valid(Kind::Serial, "123456789099999999"), "serial part 99999999 overflows 24 bits"),
    // ESN (TIA-EIA-95: 8 hex digits, or 3 + 8 decimal digits).
    ("]C0", "A1B2C3D4", Valid(Kind::Esn, "A1B2C3D4"), "8 hex digits are an ESN"),
    ("", "25512345678", Valid(Kind::Esn, "25512345678"), "decimal ESN: manufacturer 255, serial below 2^24"),
    ("", "25612345678", Valid(Kind::Serial, "25612345678"), "manufacturer 256 overflows 8 bits: not an ESN"),
    // ICCID (ITU-T E.118: 89, up to 19 digits, Luhn check digit).
    ("", "89314404000123456783", Valid(Kind::Iccid, "89314404000123456783"), "20 digits, Luhn check 3"),
    ("", "89314404000123456784", Invalid(Kind::Iccid, "bad_check_digit"), "20 digits, Luhn calls for 3"),
    ("", "89441223123456789016", Valid(Kind::Iccid, "89441223123456789016"), "20 digits, Luhn check 6"),
    ("", "8931440400012345672", Valid(Kind::Iccid, "8931440400012345672"), "19 digits, Luhn check 2"),
    ("", "8931440400012345673", Invalid(Kind::Iccid, "bad_check_digit"), "19 digits failing Luhn: a misread, not a 20-digit payload"),
    ("", "893144040001234567", Valid(Kind::Iccid, "8931440400012345672"), "18 digits carry no check digit; it is appended"),
    ("", "8931440400012345672F", Valid(Kind::Iccid, "8931440400012345672"), "BCD F padding removed"),
    ("", "12345678901234567894", Invalid(Kind::Iccid, "bad_prefix"), "20 digits with a good Luhn but no 89"),
    // EID (GSMA SGP.29: 32 digits, ISO 7064 mod 97-10).
    ("", "89044000000000000000000000000136", Valid(Kind::Eid, "89044000000000000000000000000136"), "mod 97 check digits 36"),
    ("", "89044000000000000000000000000163", Invalid(Kind::Eid, "bad_check_digit"), "swapped check digits fail mod 97"),
    ("", "89044000000000000000000000001136", Invalid(Kind::Eid, "bad_check_digit"), "a changed payload digit fails mod 97"),
    // GTIN-8, -12, -13 and -14 (GS1 mod 10).
    ("]E4", "55123457", Valid(Kind::Gtin, "55123457"), "EAN-8 with check digit 7"),
    ("]E4", "55123458", Invalid(Kind::Gtin, "bad_check_digit"), "EAN-8 calls for 7"),
    ("", "40063812", Valid(Kind::Gtin, "40063812"), "8 digits with a valid GTIN-8 check digit"),
    ("", "012345678905", Valid(Kind::Gtin, "012345678905"), "GTIN-12 (UPC-A) check digit 5"),
    ("", "012345678906", Invalid(Kind::Gtin, "bad_check_digit"), "GTIN-12 calls for 5"),
    ("", "9780201379624", Valid(Kind::Gtin, "9780201379624"), "GTIN-13 (ISBN EAN) check digit 4"),
    ("", "9780201379625", Invalid(Kind::Gtin, "bad_check_digit"), "GTIN-13 calls for 4"),
    ("", "5901234123457", Valid(Kind::Gtin, "5901234123457"), "GTIN-13 check digit 7"),
    ("]I0", "10614141000033", Valid(Kind::Gtin, "10614141000033"), "ITF-14 carries a GTIN-14"),
    ("]I0", "10614141000034", Invalid(Kind::Gtin, "bad_check_digit"), "GTIN-14 calls for 3"),
    ("", "00614141000036", Valid(Kind::Gtin, "00614141000036"), "valid GTIN-14 check digit and no known TAC"),
    // EAN/UPC symbology identifiers (ISO/IEC 15420 and 15424).
    ("", "]E09780201379624", Valid(Kind::Gtin, "9780201379624"), "]E0 carries 13 digits"),
    ("", "]E0012345678905", Valid(Kind::Gtin, "012345678905"), "]E0 with 12 digits is accepted as UPC-A"),
    ("", "]E00012345678905", Valid(Kind::Gtin, "0012345678905"), "]E0 with UPC-A sent as 13 digits"),
    ("", "]E3978073520044951299", Valid(Kind::Gtin, "9780735200449"), "]E3: EAN-13 plus the 5-digit add-on 51299"),
    ("", "]E3002454313653800", Valid(Kind::Gtin, "0024543136538"), "]E3: UPC-A as EAN-13 plus the 2-digit add-on 00"),
    ("", "]E3978073520044912", Valid(Kind::Gtin, "9780735200449"), "]E3: EAN-13 plus the 2-digit add-on 12"),
    ("]E3", "978073520044951299", Valid(Kind::Gtin, "9780735200449"), "]E3 passed alongside the text"),
    ("", "]E3978073520044851299", Invalid(Kind::Gtin, "bad_check_digit"), "]E3: the EAN-13 part fails its check"),
    ("", "]E39780735200449", Invalid(Kind::Gtin, "bad_length"), "]E3 without its add-on: 13 digits"),
    ("", "]E397807352004495129", Invalid(Kind::Gtin, "bad_length"), "]E3 with 17 digits fits neither 13+2 nor 13+5"),
    ("", "]E3978073520044951299X", Invalid(Kind::Gtin, "bad_chars"), "]E3 carries digits only"),
    ("", "]E455123457", Valid(Kind::Gtin, "55123457"), "]E4 is EAN-8"),
    ("", "]E45512345", Invalid(Kind::Gtin, "bad_length"), "]E4 with 7 digits"),
    ("", "]E49780201379624", Invalid(Kind::Gtin, "bad_length"), "]E4 with 13 digits is not an EAN-8"),
    // GS1 element strings behind GS1 symbology identifiers.
    ("", "]C1010950600013435210ABC", Valid(Kind::Gs1, "(01)09506000134352(10)ABC"), "GS1-128 with GTIN and batch"),
    ("", "]C10109506000134353", Invalid(Kind::Gs1, "bad_check_digit"), "GS1-128 GTIN calls for 2"),
    ("", "]d201095060001343521721123110LOT7", Valid(Kind::Gs1, "(01)09506000134352(17)211231(10)LOT7"), "GS1 DataMatrix, no separator needed after (17)"),
    ("", "]d20109506000134352\u{1d}21SN9", Valid(Kind::Gs1, "(01)09506000134352(21)SN9"), "GS1 DataMatrix with a redundant separator"),
    ("", "]Q3010950600013435221A1\u{1d}10B2", Valid(Kind::Gs1, "(01)09506000134352(21)A1(10)B2"), "GS1 QR with FNC1 as GS"),
    ("", "]Q3(01)09506000134352", Valid(Kind::Gs1, "(01)09506000134352"), "bracketed text behind ]Q3"),
    // Country AIs 421-426: ISO 3166-1 numeric codes.
    ("", "(01)09506000134352(422)276", Valid(Kind::Gs1, "(01)09506000134352(422)276"), "276 is Germany"),
    ("", "(01)09506000134352(422)999", Invalid(Kind::Gs1, "gs1_bad_country"), "999 is not an assigned country"),
    ("", "(01)09506000134352(422)000", Invalid(Kind::Gs1, "gs1_bad_country"), "000 is not an assigned country"),
    ("", "(421)27680331", Valid(Kind::Gs1, "(421)27680331"), "ship-to postal code in Germany"),
    ("", "(421)99980331", Invalid(Kind::Gs1, "gs1_bad_country"), "ship-to country 999"),
    ("", "(421)276", Invalid(Kind::Gs1, "gs1_too_short"), "421 needs a postal code after the country"),
    ("", "(01)09506000134352(423)276528040", Valid(Kind::Gs1, "(01)09506000134352(423)276528040"), "three countries of initial processing"),
    ("", "(01)09506000134352(423)276528040056250", Valid(Kind::Gs1, "(01)09506000134352(423)276528040056250"), "five countries, the most 423 holds"),
    ("", "(01)09506000134352(423)276999", Invalid(Kind::Gs1, "gs1_bad_country"), "the second country 999 is not assigned"),
    ("", "(01)09506000134352(423)2765", Invalid(Kind::Gs1, "gs1_bad_length"), "4 digits are not a list of 3-digit codes"),
    ("", "(01)09506000134352(424)756", Valid(Kind::Gs1, "(01)09506000134352(424)756"), "756 is Switzerland"),
    ("", "(01)09506000134352(424)001", Invalid(Kind::Gs1, "gs1_bad_country"), "001 is not assigned"),
    ("", "(01)09506000134352(425)528158", Valid(Kind::Gs1, "(01)09506000134352(425)528158"), "countries of disassembly NL and TW"),
    ("", "(01)09506000134352(425)528900", Invalid(Kind::Gs1, "gs1_bad_country"), "900 is not assigned"),
    ("", "(01)09506000134352(426)250", Valid(Kind::Gs1, "(01)09506000134352(426)250"), "250 is France"),
    ("", "(01)09506000134352(426)280", Invalid(Kind::Gs1, "gs1_bad_country"), "280 (West Germany) was withdrawn"),
    // The same AI twice.
    ("", "(99)ABC(99)XYZ", Invalid(Kind::Gs1, "gs1_duplicate_ai"), "(99) twice with different values"),
    ("", "(99)ABC(99)ABC", Valid(Kind::Gs1, "(99)ABC(99)ABC"), "(99) twice with the same value"),
    ("", "(01)09506000134352(21)A(21)B", Invalid(Kind::Gs1, "gs1_duplicate_ai"), "two different serials"),
    ("", "10A\u{1d}10B", Invalid(Kind::Gs1, "gs1_duplicate_ai"), "raw form: two different batches"),
    // Mutually exclusive AIs.
    ("", "(01)09506000134352(02)09506000134352", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "a GTIN and a content GTIN"),
    ("", "(00)106141411234567897(02)09506000134352(37)12", Valid(Kind::Gs1, "(00)106141411234567897(02)09506000134352(37)12"), "content GTIN with count on a logistic unit"),
    ("", "(01)09506000134352(37)5", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "a count belongs with (02), not (01)"),
    ("", "(01)09506000134352(255)0950600000002", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "a GTIN and a coupon number"),
    ("", "(02)09506000134352(255)0950600000002", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "a content GTIN and a coupon number"),
    ("", "(255)0950600000002", Valid(Kind::Gs1, "(255)0950600000002"), "a coupon number alone"),
    ("", "(255)0950600000003", Invalid(Kind::Gs1, "bad_check_digit"), "coupon number calls for 2"),
    ("", "(420)80331(421)27680331", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "two ship-to postal codes"),
    ("", "(420)80331", Valid(Kind::Gs1, "(420)80331"), "ship-to postal code alone"),
    ("", "(01)09506000134352(422)276(426)276", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "origin and full-process country"),
    ("", "(01)09506000134352(3102)001250(3103)000125", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "one net weight in two decimal positions"),
    ("", "(01)09506000134352(3102)001250(3202)002756", Valid(Kind::Gs1, "(01)09506000134352(3102)001250(3202)002756"), "net weight in kg and lb"),
    ("", "(01)09506000134352(8006)095060001343520102", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "a GTIN and a trade item piece"),
    ("", "(8006)095060001343520102", Valid(Kind::Gs1, "(8006)095060001343520102"), "piece 1 of 2 of a trade item"),
    ("", "(8017)095060000000000015(8018)095060000000000015", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "provider and recipient GSRN"),
    ("", "(8018)095060000000000015", Valid(Kind::Gs1, "(8018)095060000000000015"), "recipient GSRN alone"),
    ("", "(255)0950600000002(3901)100(3911)978100", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "amount payable with and without currency"),
    ("", "(01)09506000134352(3921)100(3931)978100", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "price with and without currency"),
    ("", "(255)0950600000002(3940)0050(8111)0100", Invalid(Kind::Gs1, "gs1_exclusive_ais"), "percentage off and loyalty points"),
    // GIAI (8004): a GS1 company prefix of at least 4 digits comes first.
    ("", "(8004)95060001ABC", Valid(Kind::Gs1, "(8004)95060001ABC"), "company prefix, then the asset reference"),
    ("", "(8004)9506", Valid(Kind::Gs1, "(8004)9506"), "exactly four digits"),
    ("", "(8004)ABC123", Invalid(Kind::Gs1, "gs1_bad_company_prefix"), "starts with letters"),
    ("", "(8004)950A123", Invalid(Kind::Gs1, "gs1_bad_company_prefix"), "only three digits before a letter"),
    // ISO/IEC 15434 envelopes with ANSI MH10.8.2 data identifiers.
    ("", "[)>\u{1e}06\u{1d}SC02XG1ABJGH5\u{1d}1PMQ3D2LL/A\u{1e}\u{4}", Valid(Kind::Di, "(S)C02XG1ABJGH5 (1P)MQ3D2LL/A"), "serial and part number"),
    ("", "[)>\u{1e}06\u{1d}S\u{1e}\u{4}", Invalid(Kind::Di, "di_empty_field"), "a data identifier without a value"),
    ("", "[)>\u{1e}07\u{1d}S1\u{1e}\u{4}", Invalid(Kind::Di, "di_unsupported_format"), "format 07 is not data identifiers"),
    ("", "[)>\u{1e}06\u{1d}hello\u{1e}\u{4}", Invalid(Kind::Di, "di_bad_field"), "a field must start with a data identifier"),
    ("", "[)>\u{1e}05\u{1d}0109506000134352\u{1d}21X1\u{1e}\u{4}", Valid(Kind::Gs1, "(01)09506000134352(21)X1"), "format 05 holds GS1 element strings"),
    ("", "[)>\u{1e}05\u{1d}0109506000134352\u{1d}0209506000134352\u{1e}\u{4}", Invalid(Kind::Di, "gs1_exclusive_ais"), "exclusive AIs across format 05 fields"),
    ("", "[)>\u{1e}05\u{1d}21A\u{1d}21B\u{1e}\u{4}", Invalid(Kind::Di, "gs1_duplicate_ai"), "different serials across format 05 fields"),
];

fn run(aim: &str, text: &str) -> Classification {
    classify(text, Aim::parse(aim), &NoTacs)
}

/// The disagreement between a vector and the classifier, or `None` when they agree.
fn disagreement(&(aim, text, want, why): &Vector) -> Option<String> {
    let c = run(aim, text);
    let ok = match want {
        Valid(kind, value) => c.kind == kind && c.valid() && c.value == value,
        Invalid(kind, code) => c.kind == kind && c.reason_code() == Some(code),
    };
    (!ok).then(|| {
        format!(
            "{aim}{text:?} ({why}): want {want:?}, got kind {:?} value {:?} reason {:?} {:?}",
            c.kind,
            c.value,
            c.reason_code(),
            c.reason()
        )
    })
}

#[test]
fn conformance_vectors() {
    assert!(VECTORS.len() >= 100, "{} vectors", VECTORS.len());
    let misses: Vec<String> = VECTORS.iter().filter_map(disagreement).collect();
    for miss in &misses {
        eprintln!("{miss}");
    }
    assert!(
        misses.is_empty(),
        "{} of {} conformance vectors disagree (all listed above)",
        misses.len(),
        VECTORS.len()
    );
}

#[test]
fn every_rejection_says_why_in_one_line() {
    for &(aim, text, want, _) in VECTORS {
        if let Invalid(..) = want {
            let c = run(aim, text);
            assert!(
                c.reason()
                    .is_some_and(|r| !r.is_empty() && !r.contains('\n')),
                "{text:?}: {c:?}"
            );
            assert!(c.identifiers.is_empty(), "{text:?} is never paired: {c:?}");
        }
    }
}

// Issue 9, fix 1: `]E3` is EAN-13 plus a 2- or 5-digit add-on, never a serial or an IMEI.
#[test]
fn e3_ean13_with_add_on_is_a_gtin_with_its_add_on() {
    for (text, gtin, add_on) in [
        ("]E3978073520044951299", "9780735200449", "51299"),
        ("]E3002454313653800", "0024543136538", "00"),
    ] {
        let c = run("", text);
        assert_eq!(
            (c.kind, c.valid(), c.value.as_str()),
            (Kind::Gtin, true, gtin),
            "{c:?}"
        );
        assert_eq!(
            c.identifiers.len(),
            1,
            "the GTIN is the only identifier: {c:?}"
        );
        assert_eq!(c.identifiers[0].key, format!("0{gtin}"));
        let json = c.to_json();
        assert_eq!(
            json["details"]["add_on"], add_on,
            "the add-on stays visible: {json}"
        );
    }
    // The old reading of the second one was an IMEI failing its check: a false counterfeit alarm.
    let c = run("", "]E3002454313653800");
    assert_ne!(c.kind, Kind::Imei);
    let wrong = run("", "]E397807352004495129");
    assert_eq!(
        (wrong.kind, wrong.reason_code()),
        (Kind::Gtin, Some("bad_length"))
    );
    assert!(
        wrong.reason().is_some_and(|r| r.contains("add-on")),
        "{wrong:?}"
    );
}

// Issue 9, fix 1 (while there): `]E4` is EAN-8 and carries exactly 8 digits.
#[test]
fn e4_carries_exactly_eight_digits() {
    let c = run("", "]E49780201379624");
    assert_eq!(
        (c.kind, c.reason_code()),
        (Kind::Gtin, Some("bad_length")),
        "{c:?}"
    );
    let ok = run("", "]E455123457");
    assert_eq!((ok.kind, ok.valid()), (Kind::Gtin, true));
}

// Issue 9, fix 2: AIs 421-426 carry assigned ISO 3166-1 numeric country codes.
#[test]
fn gs1_country_ais_need_iso_3166_codes() {
    for text in [
        "(01)09506000134352(422)999",
        "(421)99980331",
        "(01)09506000134352(423)276999",
        "(01)09506000134352(424)001",
        "(01)09506000134352(425)528900",
        "(01)09506000134352(426)999",
    ] {
        let c = run("", text);
        assert_eq!(
            (c.kind, c.reason_code()),
            (Kind::Gs1, Some("gs1_bad_country")),
            "{c:?}"
        );
    }
    for text in [
        "(01)09506000134352(422)276",
        "(421)27680331",
        "(01)09506000134352(423)276528040056250",
        "(01)09506000134352(426)840",
    ] {
        assert!(run("", text).valid(), "{text}");
    }
}

// Issue 9, fix 3: the same AI twice is invalid when the values differ.
#[test]
fn gs1_same_ai_twice_with_different_values_is_invalid() {
    let c = run("", "(99)ABC(99)XYZ");
    assert_eq!(
        (c.kind, c.reason_code()),
        (Kind::Gs1, Some("gs1_duplicate_ai")),
        "{c:?}"
    );
    assert!(c.reason().is_some_and(|r| r.contains("(99)")), "{c:?}");
    assert!(run("", "(99)ABC(99)ABC").valid());
    let raw = run("]C1", "0109506000134352\u{1d}21A\u{1d}21B");
    assert_eq!(raw.reason_code(), Some("gs1_duplicate_ai"), "{raw:?}");
}

// Issue 9, fix 4: mutually exclusive AIs are invalid together and valid apart.
#[test]
fn gs1_mutually_exclusive_ais_are_invalid() {
    for text in [
        "(01)09506000134352(02)09506000134352",
        "(01)09506000134352(37)5",
        "(01)09506000134352(255)0950600000002",
        "(420)80331(421)27680331",
        "(8017)095060000000000015(8018)095060000000000015",
    ] {
        let c = run("", text);
        assert_eq!(
            (c.kind, c.reason_code()),
            (Kind::Gs1, Some("gs1_exclusive_ais")),
            "{c:?}"
        );
    }
    assert!(run("", "(00)106141411234567897(02)09506000134352(37)12").valid());
    assert!(run("", "(01)09506000134352(21)A").valid());
}

// Issue 9, fix 5: a GIAI starts with a GS1 company prefix, so its first 4 characters are digits.
#[test]
fn gs1_giai_starts_with_a_company_prefix() {
    let c = run("", "(8004)ABC123");
    assert_eq!(
        (c.kind, c.reason_code()),
        (Kind::Gs1, Some("gs1_bad_company_prefix")),
        "{c:?}"
    );
    assert_eq!(
        run("]C1", "8004950A123").reason_code(),
        Some("gs1_bad_company_prefix")
    );
    assert!(run("", "(8004)95060001ABC").valid());
}

// Issue 9, fix 6: a decimal MEID below regional code A0 is still a MEID when both parts fit.
#[test]
fn decimal_meid_below_a0_is_a_meid() {
    let c = run("", "256691404901193046");
    assert_eq!((c.kind, c.valid()), (Kind::Meid, true), "{c:?}");
    assert_eq!(c.identifiers[0].key, "99000001123456");
    assert_eq!(c.details.meid_hex.as_deref(), Some("99000001123456"));
    let checked = run("", "2566914049011930468");
    assert_eq!(
        (checked.kind, checked.valid()),
        (Kind::Meid, true),
        "{checked:?}"
    );
    // Values that are not decimal MEIDs keep their old readings.
    assert_eq!(run("", "429496729616777215").kind, Kind::Serial);
    assert_eq!(run("", "123456789099999999").kind, Kind::Serial);
    assert_eq!(run("", "893144040001234567").kind, Kind::Iccid);
}

// Issue 9, item 7: `]E0` with 12 digits stays accepted as UPC-A (a guard, not a defect).
#[test]
fn e0_with_twelve_digits_stays_a_gtin() {
    let c = run("", "]E0012345678905");
    assert_eq!((c.kind, c.valid()), (Kind::Gtin, true), "{c:?}");
    assert_eq!(c.identifiers[0].key, "00012345678905");
}
