//! The published JSON Schema of events (`docs/events.schema.json`) against what the real binary
//! prints: live events, NDJSON and JSON exports, and `find --json`. The API and webhooks will
//! publish the same schema, so a field added, renamed or retyped without the schema fails here.

use serde_json::Value;

use crate::util::{bin, run_with_stdin, stderr, stdout};

pub(crate) fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.schema.json");
    let text = std::fs::read_to_string(path).expect("docs/events.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Checks `value` against `schema`, the subset of JSON Schema 2020-12 the file uses (`$ref`
/// into `$defs`, `type`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties: false`, `items`, `oneOf`, `anyOf`). Errors name the JSON path.
fn validate(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        validate(root, &root["$defs"][name], value, path, errors);
        return;
    }
    for (key, value_ok) in [("oneOf", 1usize), ("anyOf", 0)] {
        if let Some(options) = schema[key].as_array() {
            let passing = options
                .iter()
                .filter(|option| {
                    let mut inner = Vec::new();
                    validate(root, option, value, path, &mut inner);
                    inner.is_empty()
                })
                .count();
            let ok = if value_ok == 1 {
                passing == 1
            } else {
                passing >= 1
            };
            if !ok {
                errors.push(format!("{path}: {passing} of the {key} options match"));
            }
        }
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = names
            .iter()
            .any(|n| *n == actual || (*n == "number" && actual == "integer"));
        if !fits {
            errors.push(format!("{path}: {actual}, expected {names:?}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        errors.push(format!("{path}: {value}, expected {constant}"));
    }
    if let Value::Object(map) = value {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !map.contains_key(name)
            {
                errors.push(format!("{path}: no property {name:?}"));
            }
        }
        for (name, field) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => validate(root, sub, field, &format!("{path}.{name}"), errors),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{path}: property {name:?} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(root, item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}

pub(crate) fn check(root: &Value, def: Option<&str>, value: &Value) {
    let schema = match def {
        Some(name) => root["$defs"][name].clone(),
        None => root.clone(),
    };
    let mut errors = Vec::new();
    validate(root, &schema, value, "$", &mut errors);
    assert!(errors.is_empty(), "{value}\n{}", errors.join("\n"));
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn events_exports_and_find_match_the_published_schema() {
    let root = schema();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("desk.db").to_string_lossy().into_owned();
    let list = dir.path().join("recall.csv");
    std::fs::write(
        &list,
        "match,value,value_to,reason\nserial,C02XG1ABJGH5,,display\nserial,NOTSEEN0001,,x\n",
    )
    .expect("list");
    let out = bin()
        .args([
            "list", "import", "--db", &db, "--kind", "recall", "--name", "r1",
        ])
        .arg(&list)
        .output()
        .expect("import");
    assert!(out.status.success(), "{}", stderr(&out));
    // Every kind of line: a hit, an invalid IMEI, junk, a control code, a cancel, progress.
    let script: &[u8] =
        b"SCANSTATION:MODE:RECALL\nSC02XG1ABJGH5\n354178036859789\n354178036859797\n\
                  R58M315CL4T\n354178036859782\nhello world\n\xff\xfe\nSCANSTATION:NEXT\n\
                  F17XK0AAJC6F\nSCANSTATION:CANCEL\n490154203237518\n";
    let out = run_with_stdin(&["run", "--json", "--db", &db], script);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = lines(&stdout(&out));
    for event in &events {
        check(&root, None, event);
    }
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in ["scan", "unit", "progress"] {
        assert!(kinds.contains(&kind), "no {kind} event in {kinds:?}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["status"] == "cancelled" && e["close_reason"] == "cancel")
    );
    assert!(
        events
            .iter()
            .any(|e| e["invalid_imeis"].as_array().is_some_and(|a| !a.is_empty()))
    );

    for what in ["units", "scans"] {
        let out = bin()
            .args(["export", "--db", &db, "--what", what, "--format", "ndjson"])
            .output()
            .expect("export");
        assert!(out.status.success(), "{}", stderr(&out));
        let def = if what == "units" { "unit" } else { "scan" };
        let rows = lines(&stdout(&out));
        assert!(!rows.is_empty());
        for row in &rows {
            check(&root, Some(def), row);
        }
        let out = bin()
            .args(["export", "--db", &db, "--what", what, "--format", "json"])
            .output()
            .expect("export");
        let all: Value = serde_json::from_str(&stdout(&out)).expect("json export");
        for row in all.as_array().expect("an array") {
            check(&root, Some(def), row);
        }
    }

    for value in ["35417803685978", "hello world"] {
        let out = bin()
            .args(["find", "--db", &db, "--json", value])
            .output()
            .expect("find");
        let found: Value = serde_json::from_str(stdout(&out).trim()).expect("find json");
        check(&root, Some("found"), &found);
    }
}

/// The names the schema allows are the names the code writes, in both directions.
#[test]
fn schema_enums_are_the_code_enums() {
    use scanstation::record::{CloseReason, Decision, ScanOutcome, UnitStatus};
    let root = schema();
    let names = |def: &str, prop: &str| -> Vec<String> {
        root["$defs"][def]["properties"][prop]["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let of = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        names("scan", "outcome"),
        of(ScanOutcome::ALL.iter().map(|o| o.as_str()).collect())
    );
    assert_eq!(
        names("unit", "status"),
        of(UnitStatus::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        names("unit", "close_reason"),
        of(CloseReason::ALL.iter().map(|r| r.as_str()).collect())
    );
    assert_eq!(
        names("unit", "decision"),
        of(Decision::ALL.iter().map(|d| d.as_str()).collect())
    );
    assert_eq!(
        names("flag", "code"),
        of(scanstation::ident::FlagCode::ALL
            .iter()
            .map(|c| c.as_str())
            .collect())
    );
}

/// The checker itself refuses what the schema forbids, so the tests above can fail.
#[test]
fn the_checker_refuses_extra_missing_and_mistyped_fields() {
    let root = schema();
    let good = serde_json::json!({"event": "progress", "list": "r", "found": 1, "expected": 2});
    let mut errors = Vec::new();
    validate(&root, &root, &good, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    for bad in [
        serde_json::json!({"event": "progress", "list": "r", "found": 1, "expected": 2, "x": 1}),
        serde_json::json!({"event": "progress", "list": "r", "found": 1}),
        serde_json::json!({"event": "progress", "list": "r", "found": "1", "expected": 2}),
        serde_json::json!({"event": "nonsense"}),
    ] {
        let mut errors = Vec::new();
        validate(&root, &root, &bad, "$", &mut errors);
        assert!(!errors.is_empty(), "{bad} passed");
    }
}
