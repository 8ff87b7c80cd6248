//! A small deterministic mutator, for the stable test's fixed-iteration runs: byte flips,
//! deletions, duplications, JSON-significant insertions and splices between seeds. It is
//! no substitute for libFuzzer's coverage guidance; it keeps the targets exercised on
//! every `cargo test` with inputs that stay close to valid JSON.

/// Bytes that change how JSON (and the languages inside it) parse.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"true",
    b"-1",
    b"1e999",
    b"-0",
    b"0.0000001",
    b"18446744073709551616",
    b"$",
    b"$.",
    b"$$",
    b"$[",
    b"[*]",
    b"..",
    b"?(",
    b"States.",
    b"(",
    b")",
    b"'",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"\xed\xa0\x80",
    b"\x00",
];

/// One mutation of `input`, drawing from `rng`; `other` is another seed to splice from.
pub fn mutate(input: &[u8], other: &[u8], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let at = if out.is_empty() {
            0
        } else {
            rng.usize(0..=out.len())
        };
        match rng.u8(0..6) {
            0 if !out.is_empty() => {
                let i = rng.usize(0..out.len());
                out[i] ^= 1 << rng.u8(0..8);
            }
            1 if !out.is_empty() => {
                let end = (at + rng.usize(1..=16)).min(out.len());
                let start = at.min(end);
                out.drain(start..end);
            }
            2 if !out.is_empty() => {
                let start = at.min(out.len() - 1);
                let end = (start + rng.usize(1..=32)).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(start..start, copy);
            }
            3 if !other.is_empty() => {
                let start = rng.usize(0..other.len());
                let end = (start + rng.usize(1..=64)).min(other.len());
                out.splice(at..at, other[start..end].iter().copied());
            }
            4 => {
                // Deep nesting, the classic stack breaker.
                let depth = rng.usize(1..=2_000);
                let (open, close) = if rng.bool() {
                    (b'[', b']')
                } else {
                    (b'{', b'}')
                };
                let mut nested = vec![open; depth];
                if open == b'{' {
                    nested = b"{\"a\":".repeat(depth);
                }
                nested.extend(std::iter::repeat_n(close, depth));
                out.splice(at..at, nested);
            }
            _ => {
                let token = INTERESTING[rng.usize(0..INTERESTING.len())];
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let run = || {
            let mut rng = fastrand::Rng::with_seed(3);
            (0..50)
                .map(|_| mutate(br#"{"a": [1, 2]}"#, b"States.Format", &mut rng))
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.iter().any(|m| m != br#"{"a": [1, 2]}"#));
    }
}
