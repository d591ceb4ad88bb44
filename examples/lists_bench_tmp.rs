fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let db = std::path::PathBuf::from(
        std::env::args()
            .nth(2)
            .unwrap_or("/tmp/lists-bench.db".into()),
    );
    scanstation::lists::bench::run(n, &db)
}
