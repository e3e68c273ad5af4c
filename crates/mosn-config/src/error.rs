//! Errors and warnings, each tied to the JSON path it is about.

use std::cell::RefCell;

/// A problem that makes the configuration unusable.
///
/// `path` is a JSON path such as `servers[0].listeners[1].address` (`$` for the whole
/// document); it displays as `"{path}: {message}"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where the problem is.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Something accepted but worth telling the operator (an ignored key, a clamped value).
///
/// Displays like [`ConfigError`]: `"{path}: {message}"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigWarning {
    /// Where the issue is.
    pub path: String,
    /// What was done about it.
    pub message: String,
}

/// The path shown for problems with the document as a whole.
pub(crate) const ROOT_PATH: &str = "$";

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ROOT_PATH.to_owned()
    } else {
        path.to_owned()
    }
}

/// Collects every error and warning of one parse. Interior mutability lets the many
/// object views of one document share it without threading `&mut` everywhere.
#[derive(Debug, Default)]
pub(crate) struct Diag {
    errors: RefCell<Vec<ConfigError>>,
    warnings: RefCell<Vec<ConfigWarning>>,
    /// The config file's directory, where relative certificate paths are also looked up.
    base_dir: Option<std::path::PathBuf>,
    /// The top-level `certificates[]` by name, for `tls_context.certificate`.
    certificates: RefCell<std::collections::HashMap<String, crate::certificates::NamedCertificate>>,
}

/// A point in a [`Diag`], see [`Diag::mark`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    errors: usize,
    warnings: usize,
}

impl Diag {
    /// A sink for a document read from a file in `base_dir`.
    pub(crate) fn in_dir(base_dir: Option<std::path::PathBuf>) -> Self {
        Diag {
            base_dir,
            ..Diag::default()
        }
    }

    /// Makes the named certificates available to the TLS contexts parsed after.
    pub(crate) fn set_certificates(
        &self,
        certs: std::collections::HashMap<String, crate::certificates::NamedCertificate>,
    ) {
        *self.certificates.borrow_mut() = certs;
    }

    /// The named certificate `name`, if `certificates[]` defines it.
    pub(crate) fn certificate(&self, name: &str) -> Option<crate::certificates::NamedCertificate> {
        self.certificates.borrow().get(name).cloned()
    }

    /// The config file's directory, if the document came from a file.
    pub(crate) fn base_dir(&self) -> Option<&std::path::Path> {
        self.base_dir.as_deref()
    }

    /// Records an error at `path` (empty means the whole document).
    pub(crate) fn error(&self, path: &str, message: impl Into<String>) {
        self.errors.borrow_mut().push(ConfigError {
            path: display_path(path),
            message: message.into(),
        });
    }

    /// Records a warning at `path`.
    pub(crate) fn warn(&self, path: &str, message: impl Into<String>) {
        self.warnings.borrow_mut().push(ConfigWarning {
            path: display_path(path),
            message: message.into(),
        });
    }

    /// The current position, to reorder what is recorded after it (see [`Diag::move_before`]).
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            errors: self.errors.borrow().len(),
            warnings: self.warnings.borrow().len(),
        }
    }

    /// Moves everything recorded since `later` in front of what was recorded between
    /// `earlier` and `later`. Used when a section must be parsed before the one that precedes
    /// it in the file, so that messages still come out in reading order.
    pub(crate) fn move_before(&self, earlier: Mark, later: Mark) {
        rotate(&mut self.errors.borrow_mut(), earlier.errors, later.errors);
        rotate(
            &mut self.warnings.borrow_mut(),
            earlier.warnings,
            later.warnings,
        );
    }

    /// Splits into the recorded errors and warnings.
    pub(crate) fn into_parts(self) -> (Vec<ConfigError>, Vec<ConfigWarning>) {
        (self.errors.into_inner(), self.warnings.into_inner())
    }
}

fn rotate<T>(items: &mut [T], earlier: usize, later: usize) {
    if earlier <= later && later <= items.len() {
        items[earlier..].rotate_left(later - earlier);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_path_colon_message() {
        let diag = Diag::default();
        diag.error("a.b[0]", "bad");
        diag.error("", "worse");
        diag.warn("c", "meh");
        let (errors, warnings) = diag.into_parts();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines, ["a.b[0]: bad", "$: worse"]);
        assert_eq!(warnings[0].to_string(), "c: meh");
    }

    #[test]
    fn move_before_reorders_sections() {
        let diag = Diag::default();
        diag.error("x", "first");
        let earlier = diag.mark();
        diag.error("clusters", "parsed early");
        let later = diag.mark();
        diag.error("servers", "parsed late");
        diag.move_before(earlier, later);
        let (errors, _) = diag.into_parts();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["x", "servers", "clusters"]);
    }
}
