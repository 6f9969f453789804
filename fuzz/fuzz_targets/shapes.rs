//! Extreme shapes (`reachdiff::shapes`) with fuzzer bytes spliced in: the
//! loader must stay within libFuzzer's time and memory limits on inputs that
//! are large and almost valid, not only on short random ones.
//!
//!     cargo +nightly fuzz run shapes -- -rss_limit_mb=1024 -timeout=10 -max_len=4096

#![no_main]

use libfuzzer_sys::fuzz_target;
use reachdiff::manifest::{LoadOptions, load};
use reachdiff::revision::{Revision, SourceFile};
use reachdiff::shapes::Shape;

fuzz_target!(|data: &[u8]| {
    let [pick, lo, hi, at, rest @ ..] = data else {
        return;
    };
    let shape = Shape::ALL[usize::from(*pick) % Shape::ALL.len()];
    // Up to about 1 MB of the shape.
    let size = 1_000 + usize::from(u16::from_le_bytes([*lo, *hi])) * 16;
    let mut text = shape.generate(size).into_bytes();
    let at = usize::from(*at) * text.len() / 256;
    text.splice(at..at, rest.iter().copied());
    let text = String::from_utf8_lossy(&text);
    let rev = Revision::new("fuzz", vec![SourceFile::new("fuzz.yaml", text.as_ref())]);
    let (_, diags) = load(&rev, &LoadOptions::default());
    for d in &diags {
        if let Some(span) = &d.span {
            assert!(span.line >= 1 && span.col >= 1, "{d}");
        }
    }
});
