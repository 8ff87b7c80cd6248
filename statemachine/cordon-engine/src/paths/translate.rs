//! Jayway-style ASL paths (what AWS evaluates with) rewritten into RFC 9535 JSONPath, which
//! `serde_json_path` evaluates: dot names with any character but `.`/`[`, `[?(...)]`
//! filters, quoted names whose backslashes escape any character.
use super::error::{PathError, invalid};

/// Escapes `name` as an RFC 9535 single-quoted member name.
fn quote_name(name: &str, out: &mut String) {
    out.push('\'');
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// A path rewritten into RFC 9535 syntax, and what the rewriting learnt about it.
pub(super) struct Translated {
    pub query: String,
    /// Only single names and indexes: the path selects at most one node.
    pub definite: bool,
    /// Jayway accepts a trailing function (`$.list.length()`), which AWS then fails to
    /// resolve at run time.
    pub trailing_function: bool,
}

/// Rewrites the part of an ASL path after its root (`$`, `$$`, `$name`) into RFC 9535
/// syntax; `path` is the whole path, for messages.
pub(super) fn to_rfc9535(rest: &str, path: &str) -> Result<Translated, PathError> {
    let mut tr = Translator {
        src: rest,
        pos: 0,
        out: String::from("$"),
        definite: true,
        trailing_function: false,
        path,
    };
    tr.top_level()?;
    Ok(Translated {
        query: tr.out,
        definite: tr.definite,
        trailing_function: tr.trailing_function,
    })
}

/// Rewrites a Jayway-style ASL path (after its `$`/`$$`) into RFC 9535 syntax.
struct Translator<'a> {
    src: &'a str,
    pos: usize,
    out: String,
    definite: bool,
    trailing_function: bool,
    path: &'a str,
}

impl Translator<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err(&self, reason: impl Into<String>) -> PathError {
        invalid(self.path, reason)
    }

    fn top_level(&mut self) -> Result<(), PathError> {
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.bump();
                    if self.peek() == Some('.') {
                        self.bump();
                        self.definite = false;
                        self.out.push_str("..");
                        match self.peek() {
                            Some('*') => {
                                self.bump();
                                self.out.push('*');
                            }
                            Some('[') => self.bracket()?,
                            _ => {
                                let name = self.dot_name()?;
                                quote_into_brackets(&name, &mut self.out);
                            }
                        }
                    } else if self.peek() == Some('*') {
                        self.bump();
                        self.definite = false;
                        self.out.push_str("[*]");
                    } else {
                        let name = self.dot_name()?;
                        if self.peek() == Some('(') {
                            // Jayway function call such as `.length()`: only at the end.
                            self.bump();
                            if self.bump() != Some(')') || self.pos != self.src.len() {
                                return Err(self.err("functions are not supported in paths"));
                            }
                            self.trailing_function = true;
                            return Ok(());
                        }
                        quote_into_brackets(&name, &mut self.out);
                    }
                }
                '[' => self.bracket()?,
                other => {
                    return Err(self.err(format!("unexpected character '{other}'")));
                }
            }
        }
        Ok(())
    }

    /// A dot-notation name: everything up to the next `.`, `[` or `(`.
    fn dot_name(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' || c == '(' {
                break;
            }
            if c.is_whitespace() || c == ']' || c == ')' || c == '\'' || c == '"' {
                return Err(self.err(format!("unexpected character '{c}' in a field name")));
            }
            self.bump();
        }
        if self.pos == start {
            return Err(self.err("empty field name"));
        }
        Ok(self.src[start..self.pos].to_owned())
    }

    /// Reads the raw text of a `[...]` selector (without the brackets), honouring quotes
    /// and nested brackets/parentheses.
    fn bracket_body(&mut self) -> Result<&str, PathError> {
        // Caller has checked peek() == '['.
        self.bump();
        let start = self.pos;
        let mut depth = 0usize;
        loop {
            let Some(c) = self.bump() else {
                return Err(self.err("unterminated '['"));
            };
            match c {
                '\'' | '"' => self.skip_string(c)?,
                '[' | '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => break,
                ']' => depth -= 1,
                _ => {}
            }
        }
        Ok(&self.src[start..self.pos - 1])
    }

    fn skip_string(&mut self, quote: char) -> Result<(), PathError> {
        loop {
            match self.bump() {
                None => return Err(self.err("unterminated string literal")),
                Some('\\') => {
                    self.bump();
                }
                Some(c) if c == quote => return Ok(()),
                Some(_) => {}
            }
        }
    }

    fn bracket(&mut self) -> Result<(), PathError> {
        let body = self.bracket_body()?.trim().to_owned();
        let translated = translate_selector(&body, self.path, &mut self.definite)?;
        self.out.push('[');
        self.out.push_str(&translated);
        self.out.push(']');
        Ok(())
    }
}

fn quote_into_brackets(name: &str, out: &mut String) {
    out.push('[');
    quote_name(name, out);
    out.push(']');
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The name inside a quoted bracket selector (`'a\'b'` → `a'b`): a backslash escapes the
/// character after it.
fn unescape_quoted(s: &str) -> String {
    let inner = &s[1..s.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

fn is_single_quoted_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return false;
    }
    let q = bytes[0];
    if (q != b'\'' && q != b'"') || bytes[bytes.len() - 1] != q {
        return false;
    }
    // The closing quote must be the first unescaped quote.
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == q {
            return i == bytes.len() - 1;
        }
    }
    false
}

/// Translates the body of one `[...]` selector.
fn translate_selector(body: &str, path: &str, definite: &mut bool) -> Result<String, PathError> {
    if body.is_empty() {
        return Err(invalid(path, "empty '[]'"));
    }
    if let Some(filter) = body.strip_prefix('?') {
        *definite = false;
        let mut expr = filter.trim();
        if expr.starts_with('(') && expr.ends_with(')') && parens_wrap_whole(expr) {
            expr = &expr[1..expr.len() - 1];
        }
        return Ok(format!("?{}", translate_filter(expr.trim(), path)?));
    }
    if is_int(body) {
        // A single index keeps the path definite (including negative indexes).
        return Ok(body.to_owned());
    }
    if is_single_quoted_name(body) {
        // Jayway lets a backslash escape any character in a quoted name (`['a\"b']`); RFC
        // 9535 allows fewer escapes, so the name is re-quoted in its form.
        let mut out = String::new();
        quote_name(&unescape_quoted(body), &mut out);
        return Ok(out);
    }
    // Wildcards, slices, unions: indefinite; the RFC parser checks the syntax.
    *definite = false;
    Ok(body.to_owned())
}

/// True when the opening parenthesis at 0 closes at the very end.
fn parens_wrap_whole(expr: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == expr.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// Translates a filter expression: embedded `@...`/`$...` paths get the same dot-name
/// rewriting as top-level paths; everything else (operators, literals) is RFC-compatible.
fn translate_filter(expr: &str, path: &str) -> Result<String, PathError> {
    let mut out = String::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                let mut escaped = false;
                let mut closed = false;
                for (_, d) in chars.by_ref() {
                    out.push(d);
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(invalid(path, "unterminated string literal in filter"));
                }
            }
            '@' | '$' => {
                // Find the end of this embedded path: names, dots and balanced brackets.
                let start = i + c.len_utf8();
                let rest = &expr[start..];
                let len = embedded_path_len(rest);
                let mut tr = Translator {
                    src: &rest[..len],
                    pos: 0,
                    out: String::from(c),
                    definite: true,
                    trailing_function: false,
                    path,
                };
                tr.top_level()?;
                if tr.trailing_function {
                    return Err(invalid(path, "functions are not supported in filters"));
                }
                out.push_str(&tr.out);
                // Skip the consumed characters.
                while let Some(&(j, _)) = chars.peek() {
                    if j < start + len {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Length of the path segments right after `@`/`$` inside a filter.
fn embedded_path_len(rest: &str) -> usize {
    let bytes: Vec<(usize, char)> = rest.char_indices().collect();
    let mut k = 0;
    while k < bytes.len() {
        let (_, c) = bytes[k];
        match c {
            '.' => {
                k += 1;
                while k < bytes.len() {
                    let (_, d) = bytes[k];
                    if d.is_alphanumeric() || d == '_' || d == '*' || d == '.' {
                        k += 1;
                    } else {
                        break;
                    }
                }
            }
            '[' => {
                let mut depth = 0usize;
                let mut quote: Option<char> = None;
                let mut escaped = false;
                while k < bytes.len() {
                    let (_, d) = bytes[k];
                    k += 1;
                    if let Some(q) = quote {
                        if escaped {
                            escaped = false;
                        } else if d == '\\' {
                            escaped = true;
                        } else if d == q {
                            quote = None;
                        }
                        continue;
                    }
                    match d {
                        '\'' | '"' => quote = Some(d),
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => break,
        }
    }
    bytes.get(k).map_or(rest.len(), |&(i, _)| i)
}
