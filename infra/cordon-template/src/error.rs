//! Why a template could not be read, or a value in it not resolved.
use std::path::PathBuf;

/// Why a template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template has no `Resources` mapping")]
    NoResources,
    /// A field of a resource that is not what the template format allows.
    #[error("resource `{resource}`, field `{field}`: {message}")]
    Resource {
        resource: String,
        field: String,
        message: String,
    },
    /// A problem outside `Resources` (`Parameters`, `Globals`).
    #[error("`{at}`: {message}")]
    Section { at: String, message: String },
    /// A state machine's definition file could not be read.
    #[error("cannot read the definition {} of `{state_machine}`: {source}", path.display())]
    Definition {
        state_machine: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A state machine's definition and its `DefinitionSubstitutions` disagree.
    #[error("`{state_machine}`: {message}")]
    Substitution {
        state_machine: String,
        message: String,
    },
    /// A value of the template could not be resolved.
    #[error("`{at}`: {source}")]
    Resolve {
        at: String,
        #[source]
        source: ResolveError,
    },
}

/// Why an intrinsic function could not be resolved against the given [`crate::Values`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{function} {name}: no value is known for it")]
    Unknown { function: String, name: String },
    #[error("{function} cannot be resolved outside CloudFormation")]
    Unsupported { function: String },
    #[error("{function}: {message}")]
    Invalid { function: String, message: String },
    #[error("expected a string, got {got}")]
    NotAString { got: String },
}
