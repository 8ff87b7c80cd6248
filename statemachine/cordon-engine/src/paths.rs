//! ASL paths (`$.a.b`, `$$.Execution.Id`), reference paths and `ResultPath` placement,
//! built on the RFC 9535 JSONPath implementation in `serde_json_path`.
//!
//! AWS evaluates ASL paths with Jayway JsonPath, which accepts forms RFC 9535 does not:
//! dot-notation names with any character except `.`/`[` (`$.detail-type`), filters written
//! `[?(@.x > 1)]`, and trailing functions such as `.length()`. [`Path::parse`] translates
//! those into an RFC 9535 query that `serde_json_path` evaluates; it never evaluates JSONPath
//! itself. It also records whether the path is *definite* (only single names and indexes):
//! a definite path yields its single node, an indefinite one yields the array of all matches
//! (possibly empty), which is what AWS does.
//!
//! A path starts at one of three [`Root`]s: the document (`$`), the context object (`$$`) or a
//! workflow variable (`$name`, assigned by a state's `Assign`). [`Roots`] hands a path all three.
//! A path of names and indexes only is walked directly; `translate.rs` rewrites the others
//! into RFC 9535; `error.rs` is how a path is refused.
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::json_text::jackson;

mod error;
mod translate;

pub use error::PathError;
use error::invalid;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the document the field reads (the state input, a result, ...).
    Document,
    /// `$$`: the context object.
    Context,
    /// `$name`: the workflow variable `name`.
    Variable(String),
}

/// Looks up workflow variables by name, for paths that start at `$name`.
pub trait VariableLookup {
    fn variable(&self, name: &str) -> Option<&Value>;
}

/// No variables at all (a definition without `Assign`, or a unit test).
pub struct NoVariables;

impl VariableLookup for NoVariables {
    fn variable(&self, _name: &str) -> Option<&Value> {
        None
    }
}

impl VariableLookup for Map<String, Value> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// What a path can start from: the document, the context object and the variables in scope.
#[derive(Clone, Copy)]
pub struct Roots<'a> {
    pub document: &'a Value,
    pub context: &'a Value,
    pub variables: &'a dyn VariableLookup,
}

impl<'a> Roots<'a> {
    /// Roots without variables.
    pub fn new(document: &'a Value, context: &'a Value) -> Roots<'a> {
        Roots {
            document,
            context,
            variables: &NoVariables,
        }
    }

    /// The same roots over another document (ResultSelector reads the result, OutputPath
    /// the output, ...).
    pub fn with_document(self, document: &'a Value) -> Roots<'a> {
        Roots { document, ..self }
    }

    /// The value a path rooted at `root` starts from, if there is one.
    pub fn start(&self, root: &Root) -> Option<&'a Value> {
        match root {
            Root::Document => Some(self.document),
            Root::Context => Some(self.context),
            Root::Variable(name) => self.variables.variable(name),
        }
    }
}

/// A parsed ASL Path: parse once at definition time, evaluate many times.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    root: Root,
    definite: bool,
    /// Jayway accepts a trailing function (`$.list.length()`), which AWS then fails to
    /// resolve at run time. Such a path is valid but never matches.
    trailing_function: bool,
    query: Query,
}

/// How a path selects.
#[derive(Debug, Clone)]
enum Query {
    /// Names and non-negative indexes only (most ASL paths): a direct walk, which selects what
    /// the RFC 9535 query would, without building or running one.
    Direct(Vec<Segment>),
    /// Anything else: the RFC 9535 query the path translates to.
    Rfc(JsonPath),
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Path {
    /// Parses an ASL Path (`$...` against the input, `$$...` against the context object).
    pub fn parse(path: &str) -> Result<Path, PathError> {
        if let Ok(r) = ReferencePath::parse(path) {
            return Ok(Path {
                text: path.to_owned(),
                root: r.root,
                definite: true,
                trailing_function: false,
                query: Query::Direct(r.segments),
            });
        }
        let (root, rest) = split_root(path)?;
        let t = translate::to_rfc9535(rest, path)?;
        let query = JsonPath::parse(&t.query).map_err(|e| invalid(path, e.to_string()))?;
        Ok(Path {
            text: path.to_owned(),
            root,
            definite: t.definite,
            trailing_function: t.trailing_function,
            query: Query::Rfc(query),
        })
    }

    /// The path as written in the definition.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Places `value` at this path inside `target` (ResultPath semantics), with the
    /// segments parsed once; a path that is not a reference path is refused as
    /// [`put`] refuses it.
    pub fn put(&self, target: Value, value: Value) -> Result<Value, PathError> {
        match &self.query {
            Query::Direct(segments) => put_at(&self.text, &self.root, segments, target, value),
            Query::Rfc(_) => put(target, &self.text, value),
        }
    }

    /// The steps of a `$`-rooted path of names and indexes only (which a walk selects).
    pub(crate) fn document_steps(&self) -> Option<&[Segment]> {
        match (&self.root, &self.query) {
            (Root::Document, Query::Direct(segments)) if !self.trailing_function => Some(segments),
            _ => None,
        }
    }

    /// The field name of a path of one step, `$.name` (or `$['name']`).
    pub(crate) fn single_field(&self) -> Option<&str> {
        match (&self.root, &self.query) {
            (Root::Document, Query::Direct(segments)) => match segments.as_slice() {
                [Segment::Field(name)] => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    /// [`Path::put`] that can be taken back: on refusal the target comes back untouched
    /// with the error; on success with what [`Path::undo_put`] needs to restore it.
    pub(crate) fn put_undoable(
        &self,
        target: Value,
        value: Value,
    ) -> Result<(Value, PutUndo), (PathError, Value)> {
        match &self.query {
            Query::Direct(segments) => {
                put_undoable(&self.text, &self.root, segments, target, value)
            }
            Query::Rfc(_) => match ReferencePath::parse(&self.text) {
                Ok(r) => put_undoable(&self.text, &self.root, &r.segments, target, value),
                Err(e) => Err((e, target)),
            },
        }
    }

    /// Restores the target a [`Path::put_undoable`] placed into as it was, from its output.
    pub(crate) fn undo_put(&self, out: Value, undo: PutUndo) -> Value {
        match &self.query {
            Query::Direct(segments) => undo_put(segments, out, undo),
            Query::Rfc(_) => match ReferencePath::parse(&self.text) {
                Ok(r) => undo_put(&r.segments, out, undo),
                Err(_) => match undo {
                    PutUndo::Whole(target) => target,
                    PutUndo::Placed { .. } => out,
                },
            },
        }
    }

    /// Where the path starts.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// True when the path can select at most one node (names and indexes only).
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Evaluates the path. A definite path yields its node (`None` when nothing matches);
    /// an indefinite path always yields `Some(array of matches)`.
    pub fn select(&self, roots: &Roots<'_>) -> Option<Value> {
        if self.trailing_function {
            return None;
        }
        let doc = roots.start(&self.root)?;
        let query = match &self.query {
            Query::Direct(segments) => return walk(doc, segments).cloned(),
            Query::Rfc(q) => q,
        };
        let nodes = query.query(doc);
        if self.definite {
            nodes.first().cloned()
        } else {
            Some(Value::Array(nodes.all().into_iter().cloned().collect()))
        }
    }
}

/// Splits the root off a path: `$$`, `$name` (a variable) or `$`.
fn split_root(path: &str) -> Result<(Root, &str), PathError> {
    if let Some(rest) = path.strip_prefix("$$") {
        return Ok((Root::Context, rest));
    }
    let Some(rest) = path.strip_prefix('$') else {
        return Err(invalid(path, "a path must start with '$' or '$$'"));
    };
    match rest.chars().next() {
        Some(c) if is_variable_start(c) => {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if !is_variable_name(name) {
                return Err(invalid(
                    path,
                    format!("'{name}' is not a valid variable name"),
                ));
            }
            Ok((Root::Variable(name.to_owned()), &rest[end..]))
        }
        _ => Ok((Root::Document, rest)),
    }
}

fn is_variable_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// A workflow variable name as the Amazon States Language allows it: a Unicode identifier
/// (a letter or `_`, then letters, digits and `_`), at most 80 characters. (`$states` is
/// reserved: [`is_reserved_variable`].)
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_variable_start)
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= MAX_VARIABLE_NAME_CHARS
}

/// The longest variable name AWS accepts.
pub const MAX_VARIABLE_NAME_CHARS: usize = 80;

/// `states` is the JSONata query language's reserved variable; no `Assign` may use it.
pub fn is_reserved_variable(name: &str) -> bool {
    name == "states"
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
}

/// A parsed ASL Reference Path: `$`, `$$`, `.name`, `['name']` and `[n]` steps only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencePath {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

impl ReferencePath {
    pub fn parse(path: &str) -> Result<ReferencePath, PathError> {
        let (root, rest) = split_root(path)?;
        let mut segments = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '.' => {
                    let start = i + 1;
                    let mut end = rest.len();
                    while let Some(&(j, d)) = chars.peek() {
                        if d == '.' || d == '[' {
                            end = j;
                            break;
                        }
                        if matches!(d, '*' | '@' | '?' | ',' | ':' | '(' | ')' | ']')
                            || d.is_whitespace()
                        {
                            return Err(invalid(
                                path,
                                format!("reference paths cannot contain '{d}'"),
                            ));
                        }
                        chars.next();
                    }
                    if start >= end {
                        return Err(invalid(
                            path,
                            "reference paths cannot contain '..' or empty field names",
                        ));
                    }
                    segments.push(Segment::Field(rest[start..end].to_owned()));
                }
                '[' => {
                    let (q, quoted) = match chars.peek() {
                        Some(&(_, q @ ('\'' | '"'))) => {
                            chars.next();
                            (q, true)
                        }
                        _ => (']', false),
                    };
                    let mut text = String::new();
                    let mut closed = false;
                    while let Some((_, d)) = chars.next() {
                        if quoted && d == '\\' {
                            match chars.next() {
                                Some((_, e)) => text.push(e),
                                None => break,
                            }
                        } else if d == q {
                            closed = true;
                            break;
                        } else {
                            text.push(d);
                        }
                    }
                    if !closed || (quoted && chars.next().map(|(_, d)| d) != Some(']')) {
                        return Err(invalid(path, "unterminated '['"));
                    }
                    if quoted {
                        segments.push(Segment::Field(text));
                    } else {
                        let index = text.trim().parse::<usize>().map_err(|_| {
                            invalid(
                                path,
                                format!(
                                    "reference paths allow only field names and non-negative \
                                     indexes in brackets, found '[{text}]'"
                                ),
                            )
                        })?;
                        segments.push(Segment::Index(index));
                    }
                }
                other => {
                    return Err(invalid(path, format!("unexpected character '{other}'")));
                }
            }
        }
        Ok(ReferencePath {
            text: path.to_owned(),
            root,
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The single node at this path, if present.
    pub fn get<'v>(&self, roots: &Roots<'v>) -> Option<&'v Value> {
        walk(roots.start(&self.root)?, &self.segments)
    }

    /// Places `value` at this path inside `target` (ResultPath semantics).
    pub fn put(&self, target: Value, value: Value) -> Result<Value, PathError> {
        put_at(&self.text, &self.root, &self.segments, target, value)
    }
}

/// [`ReferencePath::put`] and [`Path::put`]: places `value` at `segments` (from `root`)
/// inside `target`.
fn put_at(
    text: &str,
    root: &Root,
    segments: &[Segment],
    target: Value,
    value: Value,
) -> Result<Value, PathError> {
    put_undoable(text, root, segments, target, value)
        .map(|(out, _)| out)
        .map_err(|(e, _)| e)
}

/// How to take a [`put_undoable`] back: what the placement replaced or created.
#[derive(Debug)]
pub(crate) enum PutUndo {
    /// The path was `$`: the output is the value, this is the target.
    Whole(Value),
    /// The value went to the path's last step; before, the target had `replaced` there (a
    /// field that was absent: `None`). `created`: the first step of the path whose object
    /// the placement created (everything from it down is new, `replaced` is `None`).
    Placed {
        created: Option<usize>,
        replaced: Option<Value>,
    },
}

/// [`put_at`] for a caller that must be able to get the target back as it was: when the
/// placement is refused (the target comes back untouched with the error), and afterwards
/// (with [`undo_put`], should the output turn out to be refused).
fn put_undoable(
    text: &str,
    root: &Root,
    segments: &[Segment],
    mut target: Value,
    value: Value,
) -> Result<(Value, PutUndo), (PathError, Value)> {
    if *root != Root::Document {
        let e = invalid(
            text,
            "a ResultPath can only write into the state input ('$')",
        );
        return Err((e, target));
    }
    let Some((last, init)) = segments.split_last() else {
        return Ok((value, PutUndo::Whole(target)));
    };
    // Decided before anything changes, so the error can print the input as it was
    // without a copy of it being kept for the purpose.
    if !appliable(&target, init, last) {
        let e = PathError::Unappliable(format!(
            "Unable to apply ResultPath '{text}' to input '{}'",
            jackson(&target)
        ));
        return Err((e, target));
    }
    match place(&mut target, init, last, value) {
        Ok(undo) => Ok((target, undo)),
        // `appliable` said every step exists or can be made: this never happens.
        Err(()) => Err((
            PathError::Unappliable(format!("Unable to apply ResultPath '{text}'")),
            target,
        )),
    }
}

/// The placement [`put_undoable`] makes once `appliable` allowed it.
fn place(
    target: &mut Value,
    init: &[Segment],
    last: &Segment,
    value: Value,
) -> Result<PutUndo, ()> {
    let mut created = None;
    let mut cur = target;
    for (depth, seg) in init.iter().enumerate() {
        cur = match (seg, cur) {
            (Segment::Field(name), Value::Object(map)) => {
                if !map.contains_key(name) {
                    created.get_or_insert(depth);
                    map.insert(name.clone(), Value::Object(Map::new()));
                }
                map.get_mut(name).ok_or(())?
            }
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i).ok_or(())?,
            _ => return Err(()),
        };
    }
    let replaced = match (last, cur) {
        (Segment::Field(name), Value::Object(map)) => match map.get_mut(name) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => map.insert(name.clone(), value),
        },
        (Segment::Index(i), Value::Array(items)) => {
            Some(std::mem::replace(items.get_mut(*i).ok_or(())?, value))
        }
        _ => return Err(()),
    };
    Ok(PutUndo::Placed { created, replaced })
}

/// Takes a [`put_undoable`] back: `out` becomes the target as it was (fields in their order).
fn undo_put(segments: &[Segment], mut out: Value, undo: PutUndo) -> Value {
    let (created, replaced) = match undo {
        PutUndo::Whole(target) => return target,
        PutUndo::Placed { created, replaced } => (created, replaced),
    };
    let Some((last, init)) = segments.split_last() else {
        return out;
    };
    // The step to take back: the first object the placement created, or the last step.
    let (walk_to, step) = match created {
        Some(depth) => (&init[..depth], &init[depth]),
        None => (init, last),
    };
    let mut cur = &mut out;
    for seg in walk_to {
        let next = match (seg, cur) {
            (Segment::Field(name), Value::Object(map)) => map.get_mut(name),
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return out,
        }
    }
    match (step, cur, replaced) {
        // A field that was there keeps its place in the object.
        (Segment::Field(name), Value::Object(map), Some(old)) => {
            map.insert(name.clone(), old);
        }
        // A field that was added went last: removing it leaves the others in order.
        (Segment::Field(name), Value::Object(map), None) => {
            map.shift_remove(name);
        }
        (Segment::Index(i), Value::Array(items), Some(old)) => {
            if let Some(slot) = items.get_mut(*i) {
                *slot = old;
            }
        }
        _ => {}
    }
    out
}

/// Whether [`ReferencePath::put`] can place a value at `init` + `last` in `target`: every
/// field on the way is an object's (missing ones are created as empty objects), every index
/// an existing array element's.
fn appliable(target: &Value, init: &[Segment], last: &Segment) -> bool {
    // `None`: an object the put would create, empty.
    let mut cur = Some(target);
    for seg in init {
        cur = match (seg, cur) {
            (Segment::Field(name), Some(Value::Object(map))) => map.get(name),
            (Segment::Field(_), None) => None,
            (Segment::Index(i), Some(Value::Array(items))) if *i < items.len() => Some(&items[*i]),
            _ => return false,
        };
    }
    match (last, cur) {
        (Segment::Field(_), Some(Value::Object(_)) | None) => true,
        (Segment::Index(i), Some(Value::Array(items))) => *i < items.len(),
        _ => false,
    }
}

/// Takes the node `segments` lead to out of `doc` (leaving `null` in its place), if there is
/// one: what [`walk`] finds, moved rather than copied.
pub(crate) fn take_at(doc: &mut Value, segments: &[Segment]) -> Option<Value> {
    let mut cur = doc;
    for seg in segments {
        cur = match (seg, cur) {
            (Segment::Field(name), Value::Object(map)) => map.get_mut(name)?,
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur.take())
}

/// The node `segments` lead to from `doc`, if there is one.
pub(crate) fn walk<'v>(doc: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut cur = doc;
    for seg in segments {
        cur = match (seg, cur) {
            (Segment::Field(name), Value::Object(map)) => map.get(name)?,
            (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Checks an ASL Path (as used by InputPath, OutputPath, ItemsPath, `*.$` fields, ...).
pub fn validate_path(path: &str) -> Result<(), String> {
    Path::parse(path).map(|_| ()).map_err(|e| e.to_string())
}

/// Checks an ASL Reference Path (single node, no filters or wildcards), as used by ResultPath
/// and Choice `Variable`.
pub fn validate_reference_path(path: &str) -> Result<(), String> {
    ReferencePath::parse(path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses and evaluates a Path from its [`Roots`]. A definite path yields its single node;
/// an indefinite one yields the array of matches. `Ok(None)` means nothing matched (the caller
/// decides which `States.*` error that is). Parse once with [`Path::parse`] where a path is
/// evaluated more than once.
pub fn select(path: &str, roots: &Roots<'_>) -> Result<Option<Value>, PathError> {
    Ok(Path::parse(path)?.select(roots))
}

/// Places `value` into `target` at `reference_path` with ResultPath semantics:
/// `$` replaces the whole document, missing intermediate objects are created.
pub fn put(target: Value, reference_path: &str, value: Value) -> Result<Value, PathError> {
    ReferencePath::parse(reference_path)?.put(target, value)
}

#[cfg(test)]
mod tests;
