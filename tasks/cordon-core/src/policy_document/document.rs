//! An IAM policy document as the detections read it: leniently (a JSON object, a JSON
//! string, or a URL-encoded one, as CloudTrail records them), statement by statement.
use serde_json::Value;

/// An IAM policy document (identity policy or trust policy): a JSON value with a
/// `Statement` key.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument(Value);

impl PolicyDocument {
    /// Reads a document given as an object, a JSON string, or a URL-encoded JSON string.
    /// `None` when it is none of these or has no `Statement`.
    pub fn parse(v: &Value) -> Option<Self> {
        let doc = match v {
            Value::Object(_) => v.clone(),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .or_else(|| serde_json::from_str::<Value>(&percent_decode(s)).ok())?,
            _ => return None,
        };
        doc.get("Statement")
            .is_some()
            .then_some(PolicyDocument(doc))
    }

    /// The document as CloudTrail gave it (decoded).
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// `Statement` as a list: an array's elements, or a single statement object.
    pub fn statements(&self) -> Vec<Statement<'_>> {
        match self.0.get("Statement") {
            Some(Value::Array(a)) => a.iter().map(Statement).collect(),
            Some(s @ Value::Object(_)) => vec![Statement(s)],
            _ => Vec::new(),
        }
    }

    /// Every principal an Allow statement trusts (`"*"`, AWS, Federated, Service and
    /// CanonicalUser values), in document order.
    pub fn trusted_principals(&self) -> Vec<String> {
        self.statements()
            .into_iter()
            .filter(Statement::allows)
            .flat_map(|st| st.principals())
            .collect()
    }
}

/// One statement of a [`PolicyDocument`], read leniently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement<'a>(&'a Value);

impl<'a> Statement<'a> {
    pub fn as_json(&self) -> &'a Value {
        self.0
    }

    /// `Effect` is `Allow` (any case).
    pub fn allows(&self) -> bool {
        self.0
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("allow"))
    }

    /// `Action` (a string or a list of strings).
    pub fn actions(&self) -> Vec<String> {
        str_or_list(self.0.get("Action"))
    }

    /// `Resource` (a string or a list of strings).
    pub fn resources(&self) -> Vec<String> {
        str_or_list(self.0.get("Resource"))
    }

    /// The statement uses `NotAction` (everything except a list: as broad as `*`).
    pub fn has_not_action(&self) -> bool {
        self.0.get("NotAction").is_some()
    }

    /// `Principal`: `"*"` as itself, or the AWS, Federated, Service and CanonicalUser
    /// values of an object. The Effect is not considered.
    pub fn principals(&self) -> Vec<String> {
        match self.0.get("Principal") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Object(m)) => ["AWS", "Federated", "Service", "CanonicalUser"]
                .into_iter()
                .flat_map(|key| str_or_list(m.get(key)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A string, or the strings of a list (other entries skipped).
fn str_or_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Decodes `%XX` escapes (the `CreateRole` response carries the trust policy this way).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
