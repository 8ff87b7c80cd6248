//! What is wrong with a definition: one [`Diagnostic`] per problem, all of them in a
//! [`ValidationError`].
use std::fmt;

/// One problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The state the problem is in, if any.
    pub state: Option<String>,
    /// The field, as a path such as `Retry[0].BackoffRate`, if any.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.state {
            write!(f, "State '{s}': ")?;
        }
        match &self.field {
            Some(field) => write!(f, "field '{field}' {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// An invalid definition: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid State Machine Definition: ")?;
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl ValidationError {
    /// Whether any diagnostic's text contains `needle` (handy in tests).
    pub fn mentions(&self, needle: &str) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.to_string().contains(needle))
    }
}
