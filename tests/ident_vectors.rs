//! Every test vector of DOMAIN.md sections 1.1-1.14, through the public classifier.

use scanstation::ident::{Aim, Classification, IdKind, Kind, NoTacs, classify, reason};

fn check(text: &str) -> Classification {
    classify(text, None, &NoTacs)
}

fn check_aim(text: &str, aim: &str) -> Classification {
    classify(text, Aim::parse(aim), &NoTacs)
}

#[track_caller]
fn valid(text: &str, kind: Kind, value: &str) -> Classification {
    let c = check(text);
    assert_eq!(
        (c.kind, c.valid(), c.value.as_str()),
        (kind, true, value),
        "{text:?}: {c:?}"
    );
    c
}

#[track_caller]
fn invalid(text: &str, kind: Kind, code: &str) -> Classification {
    let c = check(text);
    assert_eq!(
        (c.kind, c.reason_code()),
        (kind, Some(code)),
        "{text:?}: {c:?}"
    );
    assert!(!c.valid());
    assert!(
        c.reason()
            .is_some_and(|r| !r.is_empty() && !r.contains('\n'))
    );
    c
}

#[test]
fn imei_vectors_1_2() {
    let c = valid("490154203237518", Kind::Imei, "490154203237518");
    assert_eq!(c.details.tac.as_deref(), Some("49015420"));
    assert_eq!(c.details.reporting_body.as_deref(), Some("49"));
    assert_eq!(c.details.imei14.as_deref(), Some("49015420323751"));
    assert_eq!(c.identifiers[0].kind, IdKind::Imei);
    assert_eq!(c.identifiers[0].key, "49015420323751");
    valid("35-209900-176148-1", Kind::Imei, "352099001761481");
    valid("354178036859789", Kind::Imei, "354178036859789");
    valid("35 417803 685978 9", Kind::Imei, "354178036859789");
    let bad = invalid("35-417803-685978-2", Kind::Imei, reason::BAD_CHECK_DIGIT);
    assert_eq!(
        bad.reason(),
        Some("invalid IMEI check digit: misprinted or counterfeit label")
    );
    assert_eq!(bad.details.expected_check_digit.as_deref(), Some("9"));
    assert!(
        bad.identifiers.is_empty(),
        "an invalid IMEI is never paired"
    );
    let sv = valid("35-209900-176148-23", Kind::Imeisv, "3520990017614823");
    assert_eq!(sv.details.svn.as_deref(), Some("23"));
    assert_eq!(sv.identifiers[0].key, "35209900176148");
    let i14 = valid("35686800-004141", Kind::Imei14, "35686800004141");
    assert_eq!(i14.details.check_digit.as_deref(), Some("8"));
    // IMEIs with reporting body 01 keep their leading zero.
    let zero = check("011948000000001");
    assert!(zero.value.starts_with("01"));
}

#[test]
fn meid_vectors_1_3() {
    let c = valid("AF 01 23 45 0A BC DE C", Kind::Meid, "AF0123450ABCDEC");
    assert_eq!(c.details.pesn.as_deref(), Some("8016B128"));
    assert_eq!(
        c.details.meid_decimal.as_deref(),
        Some("293608736500703710")
    );
    let d = valid("29360 87365 0070 3710 0", Kind::Meid, "2936087365007037100");
    assert_eq!(d.details.pesn.as_deref(), Some("8016B128"));
    // Both forms match on the same key.
    assert_eq!(c.identifiers[0].key, d.identifiers[0].key);
    valid("af0123450abcde", Kind::Meid, "AF0123450ABCDE");
    invalid(
        "AF 01 23 45 0A BC DE D",
        Kind::Meid,
        reason::BAD_CHECK_DIGIT,
    );
    // A MEID's regional code is A0 or above.
    let low = check("1F0123450ABCDE");
    assert_eq!(
        (low.kind, low.reason_code()),
        (Kind::Meid, Some(reason::BAD_PREFIX))
    );
    // 14 decimal digits are an IMEI without check digit, never a MEID.
    assert_eq!(check("35686800004141").kind, Kind::Imei14);
}

#[test]
fn esn_vectors_1_4() {
    let c = check_aim("8016B128", "]C0");
    assert_eq!((c.kind, c.valid()), (Kind::Esn, true));
    assert_eq!(c.details.manufacturer_code.as_deref(), Some("80"));
    let d = valid("12800000001", Kind::Esn, "12800000001");
    assert_eq!(d.identifiers[0].key, "80000001");
    // Out-of-range decimal forms are not ESNs.
    assert_ne!(check("99900000001").kind, Kind::Esn);
}

#[test]
fn iccid_vectors_1_5() {
    let c = valid("8944500102198304826", Kind::Iccid, "8944500102198304826");
    assert_eq!(c.details.check_digit.as_deref(), Some("6"));
    // 18 digits carry no check digit: the computed one is appended.
    let c18 = valid("894450010219830482", Kind::Iccid, "8944500102198304826");
    assert!(c18.details.note.is_some());
    // 20 digits must carry a valid check digit.
    let twenty = "89014103211118510720";
    valid(twenty, Kind::Iccid, twenty);
    invalid("89014103211118510721", Kind::Iccid, reason::BAD_CHECK_DIGIT);
    invalid("8944500102198304827", Kind::Iccid, reason::BAD_CHECK_DIGIT);
    // F padding leaked from the SIM's BCD file is removed before validation.
    let padded = valid("897010210860111111FF", Kind::Iccid, "8970102108601111119");
    assert!(padded.details.check_digit.is_some());
    // Outside 18-20 digits there is no ICCID.
    assert_ne!(check("89445001021983048").kind, Kind::Iccid);
    assert_ne!(check("894450010219830482611").kind, Kind::Iccid);
}

#[test]
fn eid_vectors_1_6() {
    for (eid, cd) in [
        ("89049032123451234512345678901235", "35"),
        ("89086030202200000022000023022943", "43"),
        ("89044045116727494800000004479366", "66"),
        ("89034011560010000000000000000121", "21"),
        ("89001012012341234012345678901224", "24"),
    ] {
        let c = valid(eid, Kind::Eid, eid);
        assert_eq!(c.details.check_digit.as_deref(), Some(cd));
    }
    let bad = invalid(
        "89049032123451234512345678901234",
        Kind::Eid,
        reason::BAD_CHECK_DIGIT,
    );
    assert_eq!(bad.details.expected_check_digit.as_deref(), Some("35"));
}

#[test]
fn gtin_vectors_1_7() {
    let c = valid("4006381333931", Kind::Gtin, "4006381333931");
    assert_eq!(c.details.gtin14.as_deref(), Some("04006381333931"));
    invalid("4006381333932", Kind::Gtin, reason::BAD_CHECK_DIGIT);
    // UPC-A and the EAN-13 that iOS reports for it meet at GTIN-14.
    let upc = valid("036000291452", Kind::Gtin, "036000291452");
    let ean = valid("0036000291452", Kind::Gtin, "0036000291452");
    assert_eq!(upc.identifiers[0].key, ean.identifiers[0].key);
    // DOMAIN.md 1.13 quotes this Apple GTIN from a public test; its check digit is wrong.
    invalid("0195949038445", Kind::Gtin, reason::BAD_CHECK_DIGIT);
    let g8 = check_aim("96385074", "]E4");
    assert_eq!((g8.kind, g8.valid()), (Kind::Gtin, true));
    let g14 = check_aim("10012345678902", "]I0");
    assert_eq!((g14.kind, g14.valid()), (Kind::Gtin, true));
}

#[test]
fn aim_identifiers_1_9() {
    let c = check("]C0354178036859789");
    assert_eq!((c.kind, c.valid()), (Kind::Imei, true));
    assert_eq!(c.details.symbology.as_deref(), Some("]C0"));
    // The prefix in the text wins over the one passed in.
    let c = classify("]E0036000291452", Aim::parse("]C0"), &NoTacs);
    assert_eq!(c.details.symbology.as_deref(), Some("]E0"));
}

#[test]
fn apple_and_samsung_serials_1_11_to_1_13() {
    let c = valid("SC02XG1ABJGH5", Kind::Serial, "C02XG1ABJGH5");
    assert_eq!(c.details.stripped_prefix, Some("S"));
    assert_eq!(c.input, "SC02XG1ABJGH5", "the raw text is always kept");
    let hp = valid("SGH327SZYD", Kind::Serial, "SGH327SZYD");
    assert_eq!(hp.details.stripped_prefix, None);
    assert_eq!(
        valid("5K31926NDZZ", Kind::Serial, "5K31926NDZZ")
            .details
            .serial_format,
        Some("apple-11")
    );
    assert_eq!(
        valid("C02L13ECF8J2", Kind::Serial, "C02L13ECF8J2")
            .details
            .serial_format,
        Some("apple-12")
    );
    assert_eq!(
        valid("R58M315CL4T", Kind::Serial, "R58M315CL4T")
            .details
            .serial_format,
        Some("samsung-11")
    );
    assert_eq!(
        valid("RFAW70M3G3A", Kind::Serial, "RFAW70M3G3A")
            .details
            .serial_format,
        Some("samsung-11")
    );
    let s = valid("SR58M315CL4T", Kind::Serial, "R58M315CL4T");
    assert_eq!(s.details.stripped_prefix, Some("S"));
    // 1.11: 12-character Apple serials are checked by charset and length only, so a box
    // barcode `S` + 12 loses its `S` even when positions 4 and 5 are not date codes.
    for (boxed, serial) in [
        ("SDNPA2ABCDEFG", "DNPA2ABCDEFG"),
        ("SC02ZB1XYZ9Q8", "C02ZB1XYZ9Q8"),
        ("SFVFX0Q1ZMD6T", "FVFX0Q1ZMD6T"),
    ] {
        let c = valid(boxed, Kind::Serial, serial);
        assert_eq!(c.details.stripped_prefix, Some("S"), "{boxed}");
        assert_eq!(c.details.serial_format, Some("apple-12"), "{boxed}");
        let bare = valid(serial, Kind::Serial, serial);
        assert_eq!(bare.details.serial_format, Some("apple-12"), "{serial}");
    }
    // 1.13: the HP serial that really starts with S stays whole, in lower case too.
    valid("sgh327szyd", Kind::Serial, "SGH327SZYD");
    let part = valid("1PMQ3D2LL/A", Kind::Part, "MQ3D2LL/A");
    assert_eq!(part.details.stripped_prefix, Some("1P"));
    // A generic serial that merely starts with 1P keeps its prefix.
    valid("1PX34KQ", Kind::Serial, "1PX34KQ");
    valid("ABC-1234/7", Kind::Serial, "ABC-1234/7");
}

#[test]
fn ambiguous_strings_name_their_alternatives_1_14() {
    // 14 digits: IMEI14 or GTIN-14; the symbology decides when it is known.
    let plain = check("35686800004141");
    assert_eq!(plain.kind, Kind::Imei14);
    assert!(plain.alternatives.iter().any(|a| a.kind == Kind::Gtin));
    let itf = check_aim("35686800004141", "]I0");
    assert_eq!(itf.kind, Kind::Gtin);
    assert!(itf.alternatives.iter().any(|a| a.kind == Kind::Imei14));
    // A valid GTIN-14 check digit and no context: GTIN-14, with IMEI14 named.
    let g = check("10012345678902");
    assert_eq!(g.kind, Kind::Gtin);
    assert!(g.alternatives.iter().any(|a| a.kind == Kind::Imei14));
    // 19 digits starting 89: ICCID, MEID considered.
    let i = check("8944500102198304826");
    assert_eq!(i.kind, Kind::Iccid);
    assert!(i.alternatives.iter().any(|a| a.kind == Kind::Meid));
    // 8 digits: GTIN-8 with a valid check digit, ESN otherwise.
    let e = check("12345678");
    assert_eq!(e.kind, Kind::Esn);
    assert!(e.alternatives.iter().any(|a| a.kind == Kind::Gtin));
}

#[test]
fn junk_is_rejected_as_such() {
    for (text, code) in [
        ("", reason::EMPTY),
        ("   \r\n", reason::EMPTY),
        ("35417803\u{7}6859789", reason::CONTROL_CHAR),
        ("abc\u{0}def", reason::CONTROL_CHAR),
        ("'; DROP TABLE units; --", reason::BAD_CHARS),
        ("1' OR '1'='1", reason::BAD_CHARS),
        ("<script>alert(1)</script>", reason::BAD_CHARS),
        ("<b>C02XG1ABJGH5</b>", reason::BAD_CHARS),
        ("C02XG1ÄBJGH5", reason::NON_ASCII),
        ("àà'HA\"NIDBVD", reason::NON_ASCII),
        ("ab", reason::TOO_SHORT),
        ("35417803\u{1e}6859789", reason::CONTROL_CHAR),
    ] {
        let c = check(text);
        assert_eq!(
            (c.kind, c.reason_code()),
            (Kind::Unknown, Some(code)),
            "{text:?}: {c:?}"
        );
        assert!(c.identifiers.is_empty());
    }
    let long = "1".repeat(5000);
    let c = check(&long);
    assert_eq!(c.reason_code(), Some(reason::TOO_LONG));
    assert_eq!(
        c.input.len(),
        5000,
        "the raw input is kept even when rejected"
    );
}

#[test]
fn control_barcodes() {
    let c = valid(
        "SCANSTATION:MODE:RECALL",
        Kind::Control,
        "SCANSTATION:MODE:RECALL",
    );
    assert!(c.control.is_some());
    let bad = check("SCANSTATION:SELFDESTRUCT");
    assert_eq!(
        (bad.kind, bad.reason_code()),
        (Kind::Control, Some(reason::UNKNOWN_CONTROL))
    );
}
