//! What gzipping an answer costs: `http::gzip::gzip` (zlib-rs, level 1, a compressor reset per
//! answer) on the first N bytes of a file, for several N, against flate2's levels 2 and 6 for
//! comparison. Each size is compressed for about 20 MB of input; prints µs per answer and its
//! coded size. It chose the level and `http::gzip::FROM_BYTES` (BENCHMARKS.md, the
//! fifty-fourth round).
//!
//! Usage: `cargo run --release --example gzip_cost -- FILE` (e.g. a page of 100 users saved
//! with curl).

use flate2::{Compress, Compression, FlushCompress, Status};
use std::time::Instant;

fn with_level(compressor: &mut Compress, input: &[u8]) -> usize {
    compressor.reset();
    let mut out = Vec::with_capacity(input.len() / 8 + 64);
    loop {
        let read = compressor.total_in() as usize;
        match compressor.compress_vec(&input[read..], &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out.len(),
            Ok(_) => out.reserve(out.capacity().max(4096)),
            Err(e) => panic!("deflate failed: {e}"),
        }
    }
}

fn timed(label: &str, size: usize, mut f: impl FnMut() -> usize) {
    let rounds = (20_000_000 / size.max(1000)).max(10);
    let started = Instant::now();
    let mut coded = 0;
    for _ in 0..rounds {
        coded = f();
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("{label:<28} {size:>8} bytes: {per:>8.2} µs, {coded:>7} bytes coded");
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: gzip_cost FILE");
    let text = std::fs::read(&path).expect("a readable file");
    let sizes = [1_100, 4_000, 14 * 1024, 32 * 1024, text.len()];
    for size in sizes.into_iter().filter(|&s| s <= text.len()) {
        let input = &text[..size];
        timed("scimd (level 1)", size, || scimd::http::gzip::gzip(input).expect("coded").len());
        for level in [2, 6] {
            let mut compressor = Compress::new_gzip(Compression::new(level), 15);
            timed(&format!("flate2 level {level}"), size, || with_level(&mut compressor, input));
        }
    }
}
