//! Which workflow variables and which parts of `$states` a JSONata expression reads, found
//! once when the definition is parsed so that an evaluation converts only what it needs.
use jsonata_core::value::JValue;

use super::convert::to_jvalue;
use super::states::States;

/// What an expression refers to, from a scan of its text that skips string and regex
/// literals. A name bound inside the expression (`$x := ...`, a lambda parameter) may be
/// listed too; binding a workflow variable of that name changes nothing, because the inner
/// binding shadows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct References {
    /// `$name`s other than `$states`, each once.
    pub variables: Vec<String>,
    pub input: bool,
    pub context: bool,
    pub result: bool,
    pub error_output: bool,
    /// `$states` used as a whole (`$states`, `$states[...]`): bind all of it.
    pub whole_states: bool,
    /// `$$` appears: AWS refuses it.
    pub illegal_root: bool,
}

impl References {
    pub(super) fn scan(text: &str) -> References {
        let mut r = References::default();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        // The last significant character, to tell a regex literal from a division.
        let mut prev: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\'' | '"' | '`' => {
                    i = skip_quoted(&chars, i, c);
                    prev = Some(c);
                    continue;
                }
                '/' if i + 1 < chars.len() && chars[i + 1] == '*' => {
                    // A comment.
                    i += 2;
                    while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                        i += 1;
                    }
                    i += 2;
                    continue;
                }
                '/' if prev.is_none_or(|p| "([,:=?&|!<>+-*%{;~".contains(p)) => {
                    i = skip_quoted(&chars, i, '/');
                    prev = Some('/');
                    continue;
                }
                '$' => {
                    i = r.variable_at(&chars, i);
                    prev = Some('a');
                    continue;
                }
                c if c.is_whitespace() => {}
                c => prev = Some(c),
            }
            i += 1;
        }
        r
    }

    /// Records the `$...` reference starting at `chars[start]` and returns where it ends.
    fn variable_at(&mut self, chars: &[char], start: usize) -> usize {
        let mut i = start + 1;
        if chars.get(i) == Some(&'$') {
            self.illegal_root = true;
            return i + 1;
        }
        let name_end = ident_end(chars, i);
        let name: String = chars[i..name_end].iter().collect();
        i = name_end;
        if name.is_empty() {
            return i;
        }
        if name != "states" {
            if !self.variables.contains(&name) {
                self.variables.push(name);
            }
            return i;
        }
        // `$states.<part>`: which part.
        let mut j = i;
        while chars.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        if chars.get(j) == Some(&'.') {
            let part_start = j + 1;
            let part_end = ident_end(chars, part_start);
            let part: String = chars[part_start..part_end].iter().collect();
            match part.as_str() {
                "input" => self.input = true,
                "context" => self.context = true,
                "result" => self.result = true,
                "errorOutput" => self.error_output = true,
                _ => {}
            }
            return part_end;
        }
        self.whole_states = true;
        i
    }

    pub(super) fn states_any(&self) -> bool {
        self.whole_states || self.input || self.context || self.result || self.error_output
    }

    /// `$states`, with only the parts the expression reads.
    pub(super) fn states_value(&self, s: &States<'_>) -> JValue {
        let mut m = indexmap::IndexMap::new();
        let all = self.whole_states;
        if all || self.input {
            m.insert("input".to_owned(), to_jvalue(s.input));
        }
        if all || self.context {
            m.insert("context".to_owned(), to_jvalue(s.context));
        }
        if let Some(r) = s.result.filter(|_| all || self.result) {
            m.insert("result".to_owned(), to_jvalue(r));
        }
        if let Some(e) = s.error_output.filter(|_| all || self.error_output) {
            m.insert("errorOutput".to_owned(), to_jvalue(e));
        }
        JValue::object(m)
    }
}

/// The end of an identifier starting at `start`.
fn ident_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        i += 1;
    }
    i
}

/// The index just past the literal that opens with `quote` at `start` (honouring `\`).
fn skip_quoted(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}
