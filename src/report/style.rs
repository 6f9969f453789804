//! Terminal styling: ANSI colour only when asked (a tty without NO_COLOR).

#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// Removes control characters so manifest-derived text cannot drive the
/// terminal (escape sequences in names or labels from a pull request).
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// [`sanitize`] for text of several lines: line breaks and tabs stay,
/// every other control character (escape sequences) goes.
pub fn sanitize_lines(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_escape_sequence_survives() {
        assert_eq!(sanitize("a\x1b[31mb\n"), "a\u{fffd}[31mb\u{fffd}");
        assert_eq!(
            sanitize_lines("a\x1b]0;x\x07\nb\u{9b}c"),
            "a\u{fffd}]0;x\u{fffd}\nb\u{fffd}c"
        );
    }
}
