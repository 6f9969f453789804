//! Arbitrary bytes, decoded lossily, loaded and analysed: whatever loads
//! without errors must also analyse without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reachdiff::analysis::{Options, analyze};
use reachdiff::revision::{Revision, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let rev = Revision::new("fuzz", vec![SourceFile::new("fuzz.yaml", text.as_ref())]);
    if let Ok(analyzed) = analyze(&rev, &Options::default()) {
        let _ = analyzed.analysis.connections();
    }
});
