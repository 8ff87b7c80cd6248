//! Tokenizer and recursive-descent parser for intrinsic expressions.
//!
//! Grammar (whitespace allowed between tokens):
//! ```text
//! call := 'States.' NAME '(' [ arg { ',' arg } ] ')'
//! arg  := STRING | NUMBER | 'true' | 'false' | 'null' | PATH | call
//! ```
//! Strings are single-quoted; `\'`, `\{`, `\}` and `\\` are escapes. Numbers are JSON
//! numbers (optionally negative). Paths start with `$` and run until a top-level `,`, `)`
//! or whitespace; brackets, parentheses and quotes inside them are balanced.
use serde_json::Number;

use super::error::IntrinsicError;
use super::functions::Function;
use crate::paths::Path;

/// One argument (or the whole expression) of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A single-quoted literal: `value` has the escapes resolved; `raw` keeps them, because
    /// `States.Format` treats `\{` differently from `{`.
    Str {
        value: String,
        raw: String,
    },
    Number(Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Call),
}

/// A parsed `States.Name(args...)` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// `States.Name` (the text after `States.`).
    Function(String),
    Str {
        value: String,
        raw: String,
    },
    Number(Number),
    Ident(String),
    Path(String),
    LParen,
    RParen,
    Comma,
}

fn invalid(expr: &str, reason: impl std::fmt::Display) -> IntrinsicError {
    IntrinsicError::Invalid(format!("invalid intrinsic function '{expr}': {reason}"))
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn tokens(mut self) -> Result<Vec<(usize, Token)>, String> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else { break };
            let tok = match c {
                '(' => {
                    self.bump();
                    Token::LParen
                }
                ')' => {
                    self.bump();
                    Token::RParen
                }
                ',' => {
                    self.bump();
                    Token::Comma
                }
                '\'' => self.string()?,
                '$' => self.path()?,
                '-' | '0'..='9' => self.number()?,
                c if c.is_ascii_alphabetic() => self.word()?,
                other => return Err(format!("unexpected character '{other}' at {start}")),
            };
            out.push((start, tok));
        }
        Ok(out)
    }

    fn string(&mut self) -> Result<Token, String> {
        let start = self.pos;
        self.bump(); // opening quote
        let mut value = String::new();
        let raw_start = self.pos;
        loop {
            match self.bump() {
                None => return Err(format!("unterminated string literal at {start}")),
                Some('\'') => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => value.push(c),
                    Some(c) => {
                        // Not one of the reserved characters: keep the backslash.
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err(format!("unterminated string literal at {start}")),
                },
                Some(c) => value.push(c),
            }
        }
        let raw = self.src[raw_start..self.pos - 1].to_owned();
        Ok(Token::Str { value, raw })
    }

    fn number(&mut self) -> Result<Token, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.bump();
        }
        let text = &self.src[start..self.pos];
        serde_json::from_str::<Number>(text)
            .map(Token::Number)
            .map_err(|_| format!("invalid number '{text}'"))
    }

    fn word(&mut self) -> Result<Token, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.bump();
        }
        let word = &self.src[start..self.pos];
        match word.strip_prefix("States.") {
            Some(name) => Ok(Token::Function(name.to_owned())),
            None => Ok(Token::Ident(word.to_owned())),
        }
    }

    fn path(&mut self) -> Result<Token, String> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' if depth > 0 => depth -= 1,
                ',' | ')' if depth == 0 => break,
                c if c.is_whitespace() && depth == 0 => break,
                '\'' | '"' if depth > 0 => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(format!("unterminated string in path at {start}")),
                            Some('\\') => {
                                self.bump();
                            }
                            Some(q) if q == c => break,
                            Some(_) => {}
                        }
                    }
                    continue;
                }
                _ => {}
            }
            self.bump();
        }
        Ok(Token::Path(self.src[start..self.pos].to_owned()))
    }
}

struct Parser<'a> {
    expr: &'a str,
    tokens: Vec<(usize, Token)>,
    pos: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        tok
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn call(&mut self, name: &str) -> Result<Call, IntrinsicError> {
        let function = Function::from_name(name)
            .ok_or_else(|| invalid(self.expr, format!("unknown function 'States.{name}'")))?;
        if self.next() != Some(Token::LParen) {
            return Err(invalid(
                self.expr,
                format!("expected '(' after 'States.{name}'"),
            ));
        }
        let mut args = Vec::new();
        if self.peek() == Some(&Token::RParen) {
            self.next();
        } else {
            loop {
                args.push(self.arg()?);
                match self.next() {
                    Some(Token::Comma) => {}
                    Some(Token::RParen) => break,
                    _ => {
                        return Err(invalid(
                            self.expr,
                            format!("expected ',' or ')' in the arguments of 'States.{name}'"),
                        ));
                    }
                }
            }
        }
        function
            .check_arity(args.len())
            .map_err(|reason| invalid(self.expr, reason))?;
        Ok(Call { function, args })
    }

    fn arg(&mut self) -> Result<Arg, IntrinsicError> {
        match self.next() {
            Some(Token::Str { value, raw }) => Ok(Arg::Str { value, raw }),
            Some(Token::Number(n)) => Ok(Arg::Number(n)),
            Some(Token::Ident(word)) => match word.as_str() {
                "true" => Ok(Arg::Bool(true)),
                "false" => Ok(Arg::Bool(false)),
                "null" => Ok(Arg::Null),
                other => Err(invalid(self.expr, format!("unexpected '{other}'"))),
            },
            Some(Token::Path(text)) => Path::parse(&text)
                .map(Arg::Path)
                .map_err(|e| invalid(self.expr, e)),
            Some(Token::Function(name)) => Ok(Arg::Call(self.call(&name)?)),
            Some(other) => Err(invalid(self.expr, format!("unexpected {other:?}"))),
            None => Err(invalid(self.expr, "unexpected end of expression")),
        }
    }
}

/// Parses a whole intrinsic expression (exactly one call, nothing after it).
pub(super) fn parse(expr: &str) -> Result<Call, IntrinsicError> {
    let tokens = Lexer { src: expr, pos: 0 }
        .tokens()
        .map_err(|reason| invalid(expr, reason))?;
    let mut parser = Parser {
        expr,
        tokens,
        pos: 0,
    };
    let call = match parser.next() {
        Some(Token::Function(name)) => parser.call(&name)?,
        _ => {
            return Err(invalid(
                expr,
                "an intrinsic function must start with 'States.'",
            ));
        }
    };
    if let Some((at, _)) = parser.tokens.get(parser.pos) {
        return Err(invalid(expr, format!("unexpected text at {at}")));
    }
    Ok(call)
}
