//! Renderers: one per output format, each returning a `String`; front ends
//! decide where the bytes go.

pub mod cause;
pub mod escape;
pub mod json;
pub mod lint;
pub mod markdown;
pub mod phrase;
pub mod style;
pub mod text;
pub mod view;
