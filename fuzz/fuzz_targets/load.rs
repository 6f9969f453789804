//! Arbitrary bytes, decoded lossily, through the manifest loader: it must
//! return diagnostics, never panic, and stay within its limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reachdiff::manifest::{LoadOptions, load};
use reachdiff::revision::{Revision, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let rev = Revision::new("fuzz", vec![SourceFile::new("fuzz.yaml", text.as_ref())]);
    let (_, diags) = load(&rev, &LoadOptions::default());
    for d in &diags {
        // Every position is a real one (1-based).
        if let Some(span) = &d.span {
            assert!(span.line >= 1 && span.col >= 1, "{d}");
        }
    }
});
