//! Envoy's matchers as regexes for the model, whose regexes match anywhere unless
//! anchored (MOSN's semantics): RE2 patterns that must match the whole text, and the
//! literal prefix/suffix/contains/exact forms the model has no variant for.
//!
//! RE2 and Rust's `regex` share their syntax but not every meaning: RE2's `\d \w \s \b`
//! are ASCII, Rust's Unicode; inside a class RE2 reads `[` as a literal and `&&`, `--`,
//! `~~` as characters, Rust as nested classes and set operations. Patterns are rewritten
//! to RE2's meaning before compiling, and set operations are refused.

use super::super::{ConvertError, Result};
use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatcher;
use regex::{Regex, RegexBuilder};
use std::iter::Peekable;
use std::str::Chars;

/// The largest compiled regex accepted: a pattern from the network must not make mosn
/// build an automaton of any size (`a{1000}{1000}` is refused, not built).
const SIZE_LIMIT: usize = 1 << 20;

/// Compiles a pattern already in Rust's dialect, within [`SIZE_LIMIT`]; errors are
/// reasons (no path).
pub(super) fn compile(pattern: &str) -> std::result::Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

/// A `RegexMatcher` (RE2, whole-text match) as a model regex: `^(?:…)$`. The pattern is
/// compiled alone first, so that one which only compiles once wrapped (`a)|(b`) is
/// refused as RE2 refuses it. `google_re2.max_program_size` only decides which patterns
/// Envoy accepts and is not carried over.
pub(super) fn full_match(m: &RegexMatcher) -> Result<Regex> {
    let error = |reason: String| ConvertError::new("regex", reason);
    let pattern = from_re2(&m.regex).map_err(error)?;
    compile(&pattern).map_err(error)?;
    compile(&format!("^(?:{pattern})$")).map_err(error)
}

/// A `RegexMatcher` as an unanchored model regex (for `regex_rewrite`, which replaces
/// every match), rewritten to RE2's meaning as [`full_match`] does.
pub(super) fn unanchored(m: &RegexMatcher) -> Result<Regex> {
    let error = |reason: String| ConvertError::new("regex", reason);
    let pattern = from_re2(&m.regex).map_err(error)?;
    compile(&pattern).map_err(error)
}

/// Where a literal must occur in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    /// The whole text.
    Exact,
    /// At its start.
    Prefix,
    /// At its end.
    Suffix,
    /// Anywhere.
    Contains,
}

/// `text` as a pattern matching it where `anchor` says; `ignore_case` folds ASCII letters
/// only, as Envoy's matchers do (Rust's `(?i)` would also fold e.g. `k` and the Kelvin
/// sign).
pub(super) fn literal(text: &str, anchor: Anchor, ignore_case: bool) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    if matches!(anchor, Anchor::Exact | Anchor::Prefix) {
        pattern.push('^');
    }
    for c in text.chars() {
        if ignore_case && c.is_ascii_alphabetic() {
            pattern.extend(['[', c.to_ascii_lowercase(), c.to_ascii_uppercase(), ']']);
        } else {
            pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    if matches!(anchor, Anchor::Exact | Anchor::Suffix) {
        pattern.push('$');
    }
    pattern
}

/// An RE2 pattern rewritten so that Rust's `regex` gives it RE2's meaning.
fn from_re2(pattern: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => escape(&mut chars, in_class, &mut out)?,
            '[' if in_class => nested_bracket(&mut chars, &mut out),
            '[' => {
                in_class = true;
                open_class(&mut chars, &mut out);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '-' | '~' if in_class && chars.peek() == Some(&c) => {
                return Err(format!(
                    "{c}{c} in a character class means characters to RE2 but a set \
                     operation to mosn's regex engine; escape them"
                ));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// After `[`: a leading `^`, and a `]` right after it, which RE2 takes literally.
fn open_class(chars: &mut Peekable<Chars<'_>>, out: &mut String) {
    out.push('[');
    if chars.next_if_eq(&'^').is_some() {
        out.push('^');
    }
    if chars.next_if_eq(&']').is_some() {
        out.push_str("\\]");
    }
}

/// A `[` inside a class: a POSIX class `[:alpha:]` (both engines), else a literal `[`
/// (RE2) that Rust must see escaped.
fn nested_bracket(chars: &mut Peekable<Chars<'_>>, out: &mut String) {
    // The longest POSIX class is `[:^xdigit:]`: look no further (a pattern of many `[`
    // must not cost quadratic time).
    let ahead: String = chars.clone().take(POSIX_LOOKAHEAD).collect();
    let name = ahead
        .strip_prefix(':')
        .and_then(|r| r.split_once(":]"))
        .map(|(name, _)| name)
        .filter(|name| name.chars().all(|c| c.is_ascii_alphabetic() || c == '^'));
    match name {
        Some(name) => {
            out.push('[');
            out.extend(chars.take(name.len() + 3));
        }
        None => out.push_str("\\["),
    }
}

/// Characters after a `[` in a class that may still close a POSIX class name.
const POSIX_LOOKAHEAD: usize = 12;

/// The escape after a `\`: Perl classes and word boundaries in their ASCII meaning,
/// `\Q…\E` quoted text, everything else as written.
fn escape(
    chars: &mut Peekable<Chars<'_>>,
    in_class: bool,
    out: &mut String,
) -> std::result::Result<(), String> {
    let e = chars
        .next()
        .ok_or_else(|| "the pattern ends with a lone \\".to_owned())?;
    let ascii = match (e, in_class) {
        ('d', false) => "[0-9]",
        ('d', true) => "0-9",
        ('w', false) => "[0-9A-Za-z_]",
        ('w', true) => "0-9A-Za-z_",
        ('s', false) => "[\\t\\n\\f\\r ]",
        ('s', true) => "\\t\\n\\f\\r ",
        ('D', _) => "[^0-9]",
        ('W', _) => "[^0-9A-Za-z_]",
        ('S', _) => "[^\\t\\n\\f\\r ]",
        ('b', false) => "(?-u:\\b)",
        ('B', false) => "(?-u:\\B)",
        ('Q', false) => {
            quoted(chars, out);
            return Ok(());
        }
        _ => {
            out.push('\\');
            out.push(e);
            return Ok(());
        }
    };
    out.push_str(ascii);
    Ok(())
}

/// `\Q…\E` (or to the end): the text taken literally.
fn quoted(chars: &mut Peekable<Chars<'_>>, out: &mut String) {
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next_if_eq(&'E').is_some() {
            break;
        }
        text.push(c);
    }
    out.push_str(&regex::escape(&text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re2(pattern: &str) -> Regex {
        full_match(&RegexMatcher {
            regex: pattern.into(),
            engine_type: None,
        })
        .unwrap()
    }

    #[test]
    fn perl_classes_are_ascii_as_in_re2() {
        let digits = re2(r"\d+");
        assert!(digits.is_match("42"));
        assert!(
            !digits.is_match("٤٢"),
            "Arabic-Indic digits are not RE2 digits"
        );
        assert!(re2(r"\D").is_match("٤"));
        assert!(re2(r"[\w-]+").is_match("a_b-9"));
        assert!(!re2(r"\w").is_match("é"));
        assert!(re2(r"[^\D]").is_match("7"));
        assert!(re2(r"a\sb").is_match("a\tb"));
        assert!(!re2(r"a\sb").is_match("a\u{2003}b"));
        assert!(
            re2(r"x\b.*").is_match("xé"),
            "é is not an RE2 word character"
        );
    }

    #[test]
    fn brackets_in_classes_are_literal_as_in_re2() {
        assert!(re2(r"[[]").is_match("["));
        assert!(re2(r"[]a]+").is_match("]a"));
        assert!(re2(r"[^]a]").is_match("b"));
        assert!(re2(r"[[:digit:]x]+").is_match("1x2"));
        assert!(re2(r"\Q.*+\E").is_match(".*+"));
        assert!(!re2(r"\Q.*+\E").is_match("a"));
    }

    #[test]
    fn whole_text_must_match_and_broken_patterns_are_refused() {
        assert!(!re2("/a").is_match("/a/b"));
        assert!(re2("/a|/b").is_match("/b"));
        let refuse = |p: &str| {
            full_match(&RegexMatcher {
                regex: p.into(),
                engine_type: None,
            })
            .unwrap_err()
        };
        assert_eq!(refuse("a)|(b").path, "regex");
        assert!(refuse("a{1000}{1000}").reason.contains("size limit"));
        assert!(refuse("[a&&b]").reason.contains("set operation"));
        assert!(refuse("a\\").reason.contains("lone"));
    }

    #[test]
    fn literals_are_escaped_and_fold_ascii_only() {
        let prefix = compile(&literal("/A.b", Anchor::Prefix, true)).unwrap();
        assert!(prefix.is_match("/a.B/c"));
        assert!(!prefix.is_match("/aXb"));
        let kelvin = compile(&literal("k", Anchor::Exact, true)).unwrap();
        assert!(kelvin.is_match("K"));
        assert!(!kelvin.is_match("\u{212A}"));
        assert!(compile(&literal("x$", Anchor::Suffix, false))
            .unwrap()
            .is_match("ax$"));
        assert!(compile(&literal("b", Anchor::Contains, false))
            .unwrap()
            .is_match("abc"));
    }
}
