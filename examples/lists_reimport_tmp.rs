use scanstation::lists::*;
fn main() -> anyhow::Result<()> {
    let db = std::path::PathBuf::from("/tmp/lb-re.db");
    let _ = std::fs::remove_file(&db);
    let mut store = scanstation::store::Store::open(&db)?;
    let mut csv = String::from("match,value,value_to,reason\n");
    for i in 0..1_000_000u64 { csv.push_str(&format!("serial,S{:012},,r\n", i.wrapping_mul(2654435761) % 1_000_000_000_000)); }
    let parsed = parse(csv.as_bytes());
    for round in 0..3 {
        let t = std::time::Instant::now();
        let r = store.import_list(ListKind::Recall, "x", &parsed.entries, ImportMode::Replace, round)?;
        println!("round {round}: {:?} in {:.2}s", (r.version, r.added, r.removed), t.elapsed().as_secs_f64());
    }
    let t = std::time::Instant::now();
    store.remove_list("x")?;
    println!("remove_list: {:.2}s", t.elapsed().as_secs_f64());
    Ok(())
}
