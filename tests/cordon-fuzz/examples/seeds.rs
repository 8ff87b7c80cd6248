//! Writes every target's seeds into `<dir>/<target>/seed-<n>`, the corpus layout
//! cargo-fuzz reads (`cargo xtask fuzz` calls this before fuzzing).
fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("usage: seeds <corpus-dir>");
            std::process::exit(2)
        });
    for target in cordon_fuzz::TARGETS {
        let out = dir.join(target.name);
        std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("creating {}: {e}", out.display()));
        let seeds = (target.seeds)();
        for (n, seed) in seeds.iter().enumerate() {
            let file = out.join(format!("seed-{n:04}"));
            std::fs::write(&file, seed)
                .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
        }
        println!("{}: {} seeds", target.name, seeds.len());
    }
}
