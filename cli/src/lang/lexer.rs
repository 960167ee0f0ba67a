//! Reading a script's characters into tokens: white space and comments,
//! strings with PowerShell's quoting rules, numbers, bare words, variable
//! names, `-Names`. PowerShell reads a line differently in argument and in
//! expression position (`d*` is a word, `-eq` an operator), so the parser
//! asks for the token it expects next; positions are character indexes.

use super::parser::{err, ParseError};

/// A cursor over the characters of a script, up to a limit (the closing
/// brace of the script block being read).
#[derive(Debug)]
pub struct Cursor {
    chars: Vec<char>,
    /// Index of the next character.
    pub pos: usize,
    /// One past the last character to read.
    pub limit: usize,
}

/// A piece of a double-quoted string as read.
#[derive(Debug)]
pub enum RawPart {
    /// Literal text.
    Text(String),
    /// `$name`, at a column.
    Var(String, usize),
    /// `$( … )`: the indexes of `(` and of its `)`.
    Sub(usize, usize),
}

/// Whether `c` ends a bare word.
pub fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '|' | ';' | '(' | ')' | '{' | '}' | '\'' | '"')
}

fn is_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Cursor {
    /// A cursor at the start of `text`.
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let limit = chars.len();
        Self {
            chars,
            pos: 0,
            limit,
        }
    }

    /// The character at `pos + ahead`, within the limit.
    pub fn peek_at(&self, ahead: usize) -> Option<char> {
        let i = self.pos + ahead;
        (i < self.limit).then(|| self.chars[i])
    }

    /// The next character.
    pub fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    /// 1-based column of the next character.
    pub fn column(&self) -> usize {
        self.pos + 1
    }

    /// Whether the text at the cursor starts with `word` (any case) followed
    /// by a character that ends a word.
    pub fn at_keyword(&self, word: &str) -> bool {
        let n = word.chars().count();
        let matches = word
            .chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i).is_some_and(|d| d.eq_ignore_ascii_case(&c)));
        matches && self.peek_at(n).is_none_or(|c| !is_name(c) && c != '-')
    }

    /// Skips spaces, backtick line continuations and `#` comments; line
    /// breaks too when `newlines`.
    pub fn skip_space(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            if c == '`' && matches!(self.peek_at(1), Some('\n' | '\r')) {
                self.pos += 2;
                if self.chars[self.pos - 1] == '\r' && self.peek() == Some('\n') {
                    self.pos += 1;
                }
            } else if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else if c == '\n' && !newlines {
                return;
            } else if c.is_whitespace() {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    /// Skips white space, line breaks and `;`.
    pub fn skip_separators(&mut self) {
        loop {
            self.skip_space(true);
            if self.peek() == Some(';') {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    /// A run of letters, digits and `_`.
    pub fn name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_name) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A parameter or operator name after `-`: letters, digits, `_`.
    pub fn dash_word(&mut self) -> String {
        self.pos += 1;
        self.name()
    }

    /// A variable after `$`: `$name`, `$_`, `${any name}`, `$env:x` style
    /// scoped names. The cursor is at `$`.
    pub fn variable(&mut self) -> Result<String, ParseError> {
        let column = self.column();
        self.pos += 1;
        if self.peek() == Some('{') {
            let start = self.pos + 1;
            while self.peek().is_some_and(|c| c != '}') {
                self.pos += 1;
            }
            if self.peek().is_none() {
                return Err(err(
                    column,
                    "the variable name starting here has no closing }",
                ));
            }
            let name = self.chars[start..self.pos].iter().collect();
            self.pos += 1;
            return Ok(name);
        }
        let mut name = self.name();
        if self.peek() == Some(':') && self.peek_at(1).is_some_and(is_name) {
            self.pos += 1;
            name = format!("{name}:{}", self.name());
        }
        if name.is_empty() {
            return Err(err(column, "expected a variable name after `$`"));
        }
        Ok(name)
    }

    /// A bare word up to a delimiter; a backtick escapes the next character.
    pub fn bare(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            if c == '`' {
                if let Some(next) = self.peek_at(1) {
                    text.push(next);
                    self.pos += 2;
                    continue;
                }
            }
            text.push(c);
            self.pos += 1;
        }
        text
    }

    /// A number (`5`, `2.5`, `1e3`, `10GB`) when one starts here and a
    /// delimiter or operator follows it.
    pub fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        let mut end = start;
        let at = |i: usize| (i < self.limit).then(|| self.chars[i]);
        while at(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        if end == start {
            return None;
        }
        if at(end) == Some('.') && at(end + 1).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
            while at(end).is_some_and(|c| c.is_ascii_digit()) {
                end += 1;
            }
        }
        if at(end).is_some_and(|c| c == 'e' || c == 'E')
            && at(end + 1).is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
        {
            end += 2;
            while at(end).is_some_and(|c| c.is_ascii_digit()) {
                end += 1;
            }
        }
        let text: String = self.chars[start..end].iter().collect();
        let mut value: f64 = text.parse().ok()?;
        let suffix: String = (end..)
            .map_while(|i| at(i).filter(|c| c.is_ascii_alphabetic()))
            .collect();
        let multiplier = match suffix.to_ascii_lowercase().as_str() {
            "" => 1.0,
            "kb" => 1024.0,
            "mb" => 1024.0 * 1024.0,
            "gb" => 1024.0 * 1024.0 * 1024.0,
            "tb" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        };
        end += suffix.chars().count();
        if at(end)
            .is_some_and(|c| !ends_word(c) && !matches!(c, '.' | '[' | ']' | '+' | '-' | '*' | '/'))
        {
            return None;
        }
        value *= multiplier;
        self.pos = end;
        Some(value)
    }

    /// A single-quoted string; `''` is a literal quote. The cursor is at `'`.
    pub fn single_quoted(&mut self) -> Result<String, ParseError> {
        let column = self.column();
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(err(column, "the string starting here has no closing '")),
                Some('\'') if self.peek_at(1) == Some('\'') => {
                    text.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A double-quoted string: `""` and a backtick escape a quote, `` `n ``
    /// and `` `t `` are a line break and a tab; `$name` and `$( … )` are
    /// expanded (the parser reads `$( … )`, from the index returned).
    pub fn double_quoted(&mut self) -> Result<Vec<RawPart>, ParseError> {
        let column = self.column();
        self.pos += 1;
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(err(column, "the string starting here has no closing \"")),
                Some('`') => {
                    let Some(next) = self.peek_at(1) else {
                        return Err(err(
                            self.column(),
                            "a backtick at the end of the text escapes nothing",
                        ));
                    };
                    text.push(match next {
                        'n' => '\n',
                        't' => '\t',
                        '0' => '\0',
                        other => other,
                    });
                    self.pos += 2;
                }
                Some('"') if self.peek_at(1) == Some('"') => {
                    text.push('"');
                    self.pos += 2;
                }
                Some('"') => {
                    self.pos += 1;
                    if !text.is_empty() {
                        parts.push(RawPart::Text(text));
                    }
                    return Ok(parts);
                }
                Some('$') if self.peek_at(1) == Some('(') => {
                    if !text.is_empty() {
                        parts.push(RawPart::Text(std::mem::take(&mut text)));
                    }
                    self.pos += 1;
                    let close = self.closing('(', ')')?;
                    parts.push(RawPart::Sub(self.pos, close));
                    self.pos = close + 1;
                }
                Some('$') if self.peek_at(1).is_some_and(|c| is_name(c) || c == '{') => {
                    if !text.is_empty() {
                        parts.push(RawPart::Text(std::mem::take(&mut text)));
                    }
                    let column = self.column();
                    parts.push(RawPart::Var(self.variable()?, column));
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Index of the `}` closing the block whose `{` is at the cursor;
    /// quotes inside are respected, braces nest.
    pub fn closing_brace(&self) -> Result<usize, ParseError> {
        self.closing('{', '}')
    }

    /// Index of the `close` matching the `open` at the cursor.
    pub fn closing(&self, open: char, close: char) -> Result<usize, ParseError> {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut j = self.pos;
        while j < self.limit {
            let c = self.chars[j];
            match (quote, c) {
                (_, '`') => j += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, c) if c == open => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(j);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let what = if open == '{' {
            "script block"
        } else {
            "parenthesis"
        };
        Err(err(
            self.column(),
            format!("the {what} starting here has no closing {close}"),
        ))
    }

    /// The text from `start` to `end` (indexes).
    pub fn text(&self, start: usize, end: usize) -> String {
        self.chars[start.min(self.chars.len())..end.min(self.chars.len())]
            .iter()
            .collect()
    }
}
