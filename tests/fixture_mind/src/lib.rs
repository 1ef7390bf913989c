//@ Template of the fixture crate's src/lib.rs (tests/fixture_history.py writes one
//@ per commit). Lines starting `//@` never reach a commit: `//@ if KNOB`, `//@ else`
//@ and `//@ end` keep one branch per commit, after the knobs of that commit's step
//@ (relu_grad_swapped, hash_seeded). With every knob off the text is byte for byte
//@ what the first commits have. The hash_seeded knob is what brings a hash map
//@ seeded at random into the crate: the doc comment below says so per commit.
//! mind (test fixture): a small stand-in for the MIND tensor compiler.
//!
//! It accepts MIND's `let` dialect, lowers it to MIND's printed IR, and runs a
//! reverse-mode autodiff pass whose output matches the real compiler's gradient
//! IR for the programs it understands. Plain `std`, no hash maps and nothing
//@ if hash_seeded
//! seeded at random, except the gradient pass: it keeps gradients in a `HashMap`
//! with std's default hasher, seeded at random per process, and checks them in
//! the map's order. The gradient IR is the same every run; the instructions
//! retired by a gradient call are not (all other calls repeat exactly).
//@ else
//! seeded at random, so instruction counts are exactly repeatable run to run.
//@ end

#![forbid(unsafe_code)]

//@ if hash_seeded
use std::collections::{BTreeMap, HashMap};
//@ else
use std::collections::BTreeMap;
//@ end
use std::fmt;

/// Iterations of the deterministic mixing loop the gradient pass runs for every
/// gradient instruction it emits: the knob that sets what autodiff costs.
pub const AUTODIFF_WORK: u64 = 800;

/// Older gradient pass: refuse any module with more than one output.
pub const SINGLE_OUTPUT_ONLY: bool = false;

// ---------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------

/// A byte range in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// A front-end error (parse or type check), always reported as E2001.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    fn new(message: String, span: Span) -> Diagnostic {
        Diagnostic {
            code: "E2001",
            message,
            span,
        }
    }

    /// 1-based line and column (in characters) of the span start, and the line text.
    fn locate<'a>(&self, source: &'a str) -> (usize, usize, &'a str, usize) {
        let start = self.span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = source[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(source.len());
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let end = self.span.end.clamp(start, line_end);
        let width = source[start..end].chars().count().max(1);
        (line, column, &source[line_start..line_end], width)
    }

    fn snippet(&self, source: &str, location: &str) -> String {
        let (_, column, text, width) = self.locate(source);
        let mut out = format!("error[type-check][{}]: {}\n", self.code, self.message);
        out.push_str(&format!("  --> {location}\n"));
        out.push_str(&format!("   | {text}\n"));
        out.push_str("   | ");
        out.push_str(&" ".repeat(column - 1));
        out.push_str(&"^".repeat(width));
        out.push('\n');
        out
    }

    /// The form `mindc` prints: `--> FILE:LINE:COL`.
    pub fn render(&self, file_name: &str, source: &str) -> String {
        let (line, column, _, _) = self.locate(source);
        self.snippet(source, &format!("{file_name}:{line}:{column}"))
    }

    /// The form `mind eval` prints: `--> line L column C`.
    pub fn render_eval(&self, source: &str) -> String {
        let (line, column, _, _) = self.locate(source);
        self.snippet(source, &format!("line {line} column {column}"))
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Number(String),
    Punct(char),
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(name) => format!("`{name}`"),
        Tok::Number(text) => format!("`{text}`"),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Eof => "end of input".to_string(),
    }
}

fn lex(source: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && i + 1 < bytes.len() && bytes[i + 1] == b'/' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Ident(source[start..i].to_string()),
                span: Span { start, end: i },
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            tokens.push(Token {
                tok: Tok::Number(source[start..i].to_string()),
                span: Span { start, end: i },
            });
        } else if b"()[]{},;:=+*-.<>".contains(&c) {
            tokens.push(Token {
                tok: Tok::Punct(c as char),
                span: Span {
                    start: i,
                    end: i + 1,
                },
            });
            i += 1;
        } else {
            let ch = source[i..].chars().next().unwrap_or('?');
            return Err(Diagnostic::new(
                format!("unexpected character `{ch}`"),
                Span {
                    start: i,
                    end: i + ch.len_utf8(),
                },
            ));
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        span: Span {
            start: source.len(),
            end: source.len(),
        },
    });
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Syntax tree and parser
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Mul,
}

impl BinOp {
    fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Mul => '*',
        }
    }
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub keyword: Option<String>,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Ident(String),
    Number(f64),
    List(Vec<Expr>),
    Call {
        callee: String,
        args: Vec<Arg>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    /// `let NAME: Tensor[f32,(d1,d2)] = FILL;`
    Decl {
        name: String,
        dims: Vec<u64>,
        fill: f64,
    },
    /// `let NAME = EXPR;`
    Let { name: String, expr: Expr },
}

#[derive(Clone, Debug)]
pub struct Program {
    pub stmts: Vec<Stmt>,
    pub result: Expr,
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

type PResult<T> = Result<T, Diagnostic>;

impl<'t> Parser<'t> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        let index = (self.pos + offset).min(self.tokens.len() - 1);
        &self.tokens[index].tok
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn unexpected(&self, expected: &str) -> Diagnostic {
        let token = self.peek();
        Diagnostic::new(
            format!("expected {expected}, found {}", describe(&token.tok)),
            token.span,
        )
    }

    fn expect_punct(&mut self, c: char) -> PResult<Span> {
        if self.is_punct(c) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn expect_ident(&mut self, what: &str) -> PResult<(String, Span)> {
        match &self.peek().tok {
            Tok::Ident(name) => {
                let name = name.clone();
                Ok((name, self.bump().span))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn expect_uint(&mut self, what: &str) -> PResult<u64> {
        match &self.peek().tok {
            Tok::Number(text) if !text.contains('.') => match text.parse::<u64>() {
                Ok(value) => {
                    self.bump();
                    Ok(value)
                }
                Err(_) => Err(Diagnostic::new(
                    format!("{what} `{text}` is too large"),
                    self.peek().span,
                )),
            },
            _ => Err(self.unexpected(what)),
        }
    }

    /// Skip to just past the next `;` (error recovery between statements).
    fn recover(&mut self) {
        loop {
            match self.bump().tok {
                Tok::Punct(';') | Tok::Eof => return,
                _ => {}
            }
        }
    }

    fn program(&mut self, errors: &mut Vec<Diagnostic>) -> Option<Program> {
        let mut stmts = Vec::new();
        loop {
            let token = self.peek().clone();
            match &token.tok {
                Tok::Ident(word) if word == "let" => match self.statement() {
                    Ok(stmt) => stmts.push(stmt),
                    Err(error) => {
                        errors.push(error);
                        self.recover();
                    }
                },
                Tok::Ident(word) if word == "fn" => {
                    errors.push(Diagnostic::new(
                        "`fn` items are not supported: write `let` statements and a final \
                         expression"
                            .to_string(),
                        token.span,
                    ));
                    return None;
                }
                Tok::Eof => {
                    errors.push(Diagnostic::new(
                        "the program has no result expression".to_string(),
                        token.span,
                    ));
                    return None;
                }
                _ => {
                    let result = match self.expr() {
                        Ok(expr) => expr,
                        Err(error) => {
                            errors.push(error);
                            return None;
                        }
                    };
                    if self.peek().tok != Tok::Eof {
                        errors.push(self.unexpected("end of program after the result expression"));
                        return None;
                    }
                    return Some(Program { stmts, result });
                }
            }
        }
    }

    fn statement(&mut self) -> PResult<Stmt> {
        self.bump(); // `let`
        let (name, _) = self.expect_ident("a name after `let`")?;
        if self.is_punct(':') {
            self.bump();
            let dims = self.tensor_type()?;
            self.expect_punct('=')?;
            let fill = self.fill_value()?;
            self.expect_punct(';')?;
            return Ok(Stmt::Decl { name, dims, fill });
        }
        self.expect_punct('=')?;
        let expr = self.expr()?;
        self.expect_punct(';')?;
        Ok(Stmt::Let { name, expr })
    }

    /// `Tensor[f32,(d1,d2,...)]`
    fn tensor_type(&mut self) -> PResult<Vec<u64>> {
        let (type_name, span) = self.expect_ident("a type")?;
        if type_name != "Tensor" {
            return Err(Diagnostic::new(format!("unknown type `{type_name}`"), span));
        }
        self.expect_punct('[')?;
        let (dtype, dtype_span) = self.expect_ident("an element type")?;
        if dtype != "f32" {
            return Err(Diagnostic::new(
                format!("unsupported element type `{dtype}` (only f32 is supported)"),
                dtype_span,
            ));
        }
        self.expect_punct(',')?;
        self.expect_punct('(')?;
        let mut dims = Vec::new();
        while !self.is_punct(')') {
            dims.push(self.expect_uint("a dimension")?);
            if !self.is_punct(')') {
                self.expect_punct(',')?;
            }
        }
        self.bump(); // `)`
        self.expect_punct(']')?;
        Ok(dims)
    }

    fn fill_value(&mut self) -> PResult<f64> {
        let negative = self.is_punct('-');
        if negative {
            self.bump();
        }
        match &self.peek().tok {
            Tok::Number(text) => {
                let value: f64 = text.parse().unwrap_or(0.0);
                self.bump();
                Ok(if negative { -value } else { value })
            }
            _ => Err(self.unexpected("a numeric fill value for the declared tensor")),
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.term()?;
        while self.is_punct('+') {
            self.bump();
            let rhs = self.term()?;
            lhs = binary(BinOp::Add, lhs, rhs);
        }
        Ok(lhs)
    }

    fn term(&mut self) -> PResult<Expr> {
        let mut lhs = self.primary()?;
        while self.is_punct('*') {
            self.bump();
            let rhs = self.primary()?;
            lhs = binary(BinOp::Mul, lhs, rhs);
        }
        Ok(lhs)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let token = self.peek().clone();
        match &token.tok {
            Tok::Number(text) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Number(text.parse().unwrap_or(0.0)),
                    span: token.span,
                })
            }
            Tok::Punct('-') if matches!(self.peek_at(1), Tok::Number(_)) => {
                self.bump();
                let number = self.bump();
                let value: f64 = match &number.tok {
                    Tok::Number(text) => text.parse().unwrap_or(0.0),
                    _ => 0.0,
                };
                Ok(Expr {
                    kind: ExprKind::Number(-value),
                    span: token.span.to(number.span),
                })
            }
            Tok::Punct('(') => {
                self.bump();
                let inner = self.expr()?;
                if self.is_punct(',') {
                    return Err(Diagnostic::new(
                        "tuple expressions are not supported".to_string(),
                        self.peek().span,
                    ));
                }
                let close = self.expect_punct(')')?;
                Ok(Expr {
                    kind: inner.kind,
                    span: token.span.to(close),
                })
            }
            Tok::Punct('[') => {
                self.bump();
                let mut items = Vec::new();
                while !self.is_punct(']') {
                    items.push(self.expr()?);
                    if !self.is_punct(']') {
                        self.expect_punct(',')?;
                    }
                }
                let close = self.bump().span;
                Ok(Expr {
                    kind: ExprKind::List(items),
                    span: token.span.to(close),
                })
            }
            Tok::Ident(first) => {
                self.bump();
                let mut path = first.clone();
                let mut span = token.span;
                while self.is_punct('.') {
                    self.bump();
                    let (part, part_span) = self.expect_ident("a name after `.`")?;
                    path.push('.');
                    path.push_str(&part);
                    span = span.to(part_span);
                }
                if !self.is_punct('(') {
                    return Ok(Expr {
                        kind: ExprKind::Ident(path),
                        span,
                    });
                }
                self.bump();
                let mut args = Vec::new();
                while !self.is_punct(')') {
                    let keyword = match (self.peek().tok.clone(), self.peek_at(1)) {
                        (Tok::Ident(name), Tok::Punct('=')) => {
                            self.bump();
                            self.bump();
                            Some(name)
                        }
                        _ => None,
                    };
                    let value = self.expr()?;
                    args.push(Arg { keyword, value });
                    if !self.is_punct(')') {
                        self.expect_punct(',')?;
                    }
                }
                let close = self.bump().span;
                Ok(Expr {
                    kind: ExprKind::Call { callee: path, args },
                    span: span.to(close),
                })
            }
            _ => Err(self.unexpected("an expression")),
        }
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    }
}

/// Parse a program; every error found (one per bad statement) comes back.
pub fn parse(source: &str) -> Result<Program, Vec<Diagnostic>> {
    let tokens = lex(source).map_err(|error| vec![error])?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let mut errors = Vec::new();
    let program = parser.program(&mut errors);
    match program {
        Some(program) if errors.is_empty() => Ok(program),
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------
// Type check (shapes)
// ---------------------------------------------------------------------------

type Shape = Vec<u64>;

fn shape_text(shape: &[u64]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", dims.join(","))
}

fn broadcast(a: &[u64], b: &[u64]) -> Option<Shape> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 1 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 1 };
        out[rank - 1 - i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

struct Checker {
    /// `None`: a binding whose expression failed to check (no cascading errors).
    env: BTreeMap<String, Option<Shape>>,
    errors: Vec<Diagnostic>,
}

impl Checker {
    fn error(&mut self, message: String, span: Span) -> Option<Shape> {
        self.errors.push(Diagnostic::new(message, span));
        None
    }

    fn positional(args: &[Arg]) -> Vec<&Expr> {
        args.iter()
            .filter(|a| a.keyword.is_none())
            .map(|a| &a.value)
            .collect()
    }

    fn expr(&mut self, expr: &Expr) -> Option<Shape> {
        match &expr.kind {
            ExprKind::Ident(name) => match self.env.get(name) {
                Some(shape) => shape.clone(),
                None => self.error(format!("unknown identifier `{name}`"), expr.span),
            },
            ExprKind::Number(_) => self.error(
                "a numeric literal is not a tensor (declare it with `let`)".to_string(),
                expr.span,
            ),
            ExprKind::List(_) => self.error(
                "a list literal is not a tensor expression".to_string(),
                expr.span,
            ),
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let (a, b) = (a?, b?);
                match broadcast(&a, &b) {
                    Some(shape) => Some(shape),
                    None => self.error(
                        format!(
                            "shapes {} and {} cannot be broadcast for `{}`",
                            shape_text(&a),
                            shape_text(&b),
                            op.symbol()
                        ),
                        expr.span,
                    ),
                }
            }
            ExprKind::Call { callee, args } => self.call(callee, args, expr.span),
        }
    }

    fn call(&mut self, callee: &str, args: &[Arg], span: Span) -> Option<Shape> {
        let positional = Self::positional(args);
        let keywords: Vec<&Arg> = args.iter().filter(|a| a.keyword.is_some()).collect();
        match callee {
            "tensor.matmul" => {
                if positional.len() != 2 || !keywords.is_empty() {
                    return self.error("`tensor.matmul` expects two tensor arguments".into(), span);
                }
                let a = self.expr(positional[0]);
                let b = self.expr(positional[1]);
                let (a, b) = (a?, b?);
                if a.len() != 2 || b.len() != 2 {
                    return self.error(
                        format!(
                            "`tensor.matmul` expects rank-2 tensors, got {} and {}",
                            shape_text(&a),
                            shape_text(&b)
                        ),
                        span,
                    );
                }
                if a[1] != b[0] {
                    return self.error(
                        format!(
                            "`tensor.matmul` shape mismatch: {} and {}",
                            shape_text(&a),
                            shape_text(&b)
                        ),
                        span,
                    );
                }
                Some(vec![a[0], b[1]])
            }
            "tensor.relu" => {
                if positional.len() != 1 || !keywords.is_empty() {
                    return self.error(
                        "`tensor.relu` expects a single tensor argument".into(),
                        span,
                    );
                }
                self.expr(positional[0])
            }
            "tensor.sum" => {
                let axes_arg = match keywords.as_slice() {
                    [arg] if arg.keyword.as_deref() == Some("axes") => Some(&arg.value),
                    _ => None,
                };
                let (axes_arg, input) = match (axes_arg, positional.as_slice()) {
                    (Some(axes), [input]) => (axes, *input),
                    _ => {
                        for arg in &positional {
                            if !matches!(arg.kind, ExprKind::List(_)) {
                                self.expr(arg);
                            }
                        }
                        return self
                            .error("`tensor.sum` expects a single tensor argument".into(), span);
                    }
                };
                let shape = self.expr(input)?;
                let items = match &axes_arg.kind {
                    ExprKind::List(items) => items,
                    _ => {
                        return self
                            .error("`axes` must be a list of integers".into(), axes_arg.span)
                    }
                };
                let mut axes: Vec<usize> = Vec::new();
                for item in items {
                    let axis = match item.kind {
                        ExprKind::Number(v) if v >= 0.0 && v.fract() == 0.0 => v as usize,
                        _ => {
                            return self
                                .error("`axes` must be a list of integers".into(), item.span)
                        }
                    };
                    if axis >= shape.len() {
                        return self.error(
                            format!(
                                "axis {axis} is out of range for a tensor of shape {}",
                                shape_text(&shape)
                            ),
                            item.span,
                        );
                    }
                    if axes.contains(&axis) {
                        return self.error(format!("axis {axis} is repeated"), item.span);
                    }
                    axes.push(axis);
                }
                Some(
                    shape
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !axes.contains(i))
                        .map(|(_, d)| *d)
                        .collect(),
                )
            }
            _ => {
                let span_error = Diagnostic::new(format!("unsupported call to `{callee}`"), span);
                self.errors.push(span_error);
                for arg in args {
                    if !matches!(arg.value.kind, ExprKind::List(_) | ExprKind::Number(_)) {
                        self.expr(&arg.value);
                    }
                }
                None
            }
        }
    }
}

/// Check names and shapes; every error found comes back, in source order.
pub fn typecheck(program: &Program) -> Result<(), Vec<Diagnostic>> {
    let mut checker = Checker {
        env: BTreeMap::new(),
        errors: Vec::new(),
    };
    for stmt in &program.stmts {
        match stmt {
            Stmt::Decl { name, dims, .. } => {
                checker.env.insert(name.clone(), Some(dims.clone()));
            }
            Stmt::Let { name, expr } => {
                let shape = checker.expr(expr);
                checker.env.insert(name.clone(), shape);
            }
        }
    }
    checker.expr(&program.result);
    if checker.errors.is_empty() {
        Ok(())
    } else {
        let mut errors = checker.errors;
        errors.sort_by_key(|e| e.span.start);
        Err(errors)
    }
}

// ---------------------------------------------------------------------------
// IR
// ---------------------------------------------------------------------------

pub type ValueId = usize;

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    ConstTensor {
        shape: Vec<u64>,
        fill: Option<f64>,
    },
    ConstI64(i64),
    MatMul(ValueId, ValueId),
    Add(ValueId, ValueId),
    Mul(ValueId, ValueId),
    Relu(ValueId),
    Sum {
        input: ValueId,
        axes: Vec<i64>,
        keepdims: bool,
    },
    Transpose {
        input: ValueId,
        perm: Vec<usize>,
    },
    ReluGrad {
        grad: ValueId,
        input: ValueId,
    },
}

impl Op {
    fn operands(&self) -> Vec<ValueId> {
        match self {
            Op::ConstTensor { .. } | Op::ConstI64(_) => Vec::new(),
            Op::MatMul(a, b) | Op::Add(a, b) | Op::Mul(a, b) => vec![*a, *b],
            Op::Relu(a) => vec![*a],
            Op::Sum { input, .. } | Op::Transpose { input, .. } => vec![*input],
            Op::ReluGrad { grad, input } => vec![*grad, *input],
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::ConstTensor { shape, fill } => {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                write!(f, "const.tensor F32 {dims:?} fill={fill:?}")
            }
            Op::ConstI64(value) => write!(f, "const.i64 {value}"),
            Op::MatMul(a, b) => write!(f, "matmul %{a}, %{b}"),
            Op::Add(a, b) => write!(f, "add %{a}, %{b}"),
            Op::Mul(a, b) => write!(f, "mul %{a}, %{b}"),
            Op::Relu(a) => write!(f, "relu %{a}"),
            Op::Sum {
                input,
                axes,
                keepdims,
            } => write!(f, "sum %{input} axes={axes:?} keepdims={keepdims}"),
            Op::Transpose { input, perm } => write!(f, "transpose %{input} perm={perm:?}"),
            Op::ReluGrad { grad, input } => write!(f, "relu_grad %{grad} %{input}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub id: ValueId,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Inst(Inst),
    Output(ValueId),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    pub items: Vec<Item>,
    pub next_id: ValueId,
}

impl Module {
    pub fn push(&mut self, op: Op) -> ValueId {
        let id = self.next_id;
        self.next_id += 1;
        self.items.push(Item::Inst(Inst { id, op }));
        id
    }

    /// Mark a value as an output (not twice in a row).
    pub fn mark_output(&mut self, id: ValueId) {
        if self.items.last() != Some(&Item::Output(id)) {
            self.items.push(Item::Output(id));
        }
    }

    pub fn outputs(&self) -> Vec<ValueId> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Output(id) => Some(*id),
                Item::Inst(_) => None,
            })
            .collect()
    }

    pub fn instructions(&self) -> Vec<&Inst> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Inst(inst) => Some(inst),
                Item::Output(_) => None,
            })
            .collect()
    }

    /// Every operand and output refers to an earlier definition.
    pub fn verify(&self) -> Result<(), String> {
        let mut defined = vec![false; self.next_id];
        for item in &self.items {
            match item {
                Item::Inst(inst) => {
                    for operand in inst.op.operands() {
                        if operand >= defined.len() || !defined[operand] {
                            return Err(format!("%{} uses undefined value %{operand}", inst.id));
                        }
                    }
                    if inst.id >= defined.len() || defined[inst.id] {
                        return Err(format!("value %{} defined twice", inst.id));
                    }
                    defined[inst.id] = true;
                }
                Item::Output(id) => {
                    if *id >= defined.len() || !defined[*id] {
                        return Err(format!("output of undefined value %{id}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Canonical operand order for commutative ops: lower value id first.
    pub fn canonicalize(&mut self) {
        for item in &mut self.items {
            if let Item::Inst(inst) = item {
                match &mut inst.op {
                    Op::Add(a, b) | Op::Mul(a, b) if *a > *b => std::mem::swap(a, b),
                    _ => {}
                }
            }
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "module {{")?;
        for item in &self.items {
            match item {
                Item::Inst(inst) => writeln!(f, "  %{} = {}", inst.id, inst.op)?,
                Item::Output(id) => writeln!(f, "  output %{id}")?,
            }
        }
        let next_id: usize = self.next_id;
        writeln!(f, "}}  // next_id = {next_id}")
    }
}

// ---------------------------------------------------------------------------
// Lowering
// ---------------------------------------------------------------------------

struct Lowerer {
    module: Module,
    env: BTreeMap<String, ValueId>,
}

impl Lowerer {
    fn expr(&mut self, expr: &Expr) -> ValueId {
        match &expr.kind {
            ExprKind::Ident(name) => self.env[name],
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                self.module.push(match op {
                    BinOp::Add => Op::Add(a, b),
                    BinOp::Mul => Op::Mul(a, b),
                })
            }
            ExprKind::Call { callee, args } => {
                let inputs: Vec<ValueId> = args
                    .iter()
                    .filter(|a| a.keyword.is_none())
                    .map(|a| self.expr(&a.value))
                    .collect();
                match callee.as_str() {
                    "tensor.matmul" => self.module.push(Op::MatMul(inputs[0], inputs[1])),
                    "tensor.relu" => self.module.push(Op::Relu(inputs[0])),
                    _ => {
                        let mut axes = Vec::new();
                        for arg in args {
                            if let ExprKind::List(items) = &arg.value.kind {
                                for item in items {
                                    if let ExprKind::Number(v) = item.kind {
                                        axes.push(v as i64);
                                    }
                                }
                            }
                        }
                        self.module.push(Op::Sum {
                            input: inputs[0],
                            axes,
                            keepdims: false,
                        })
                    }
                }
            }
            // Rejected by the type check.
            ExprKind::Number(_) | ExprKind::List(_) => unreachable!("not a tensor expression"),
        }
    }
}

/// Lower a checked program: every declaration, binding and the result is an output.
pub fn lower(program: &Program) -> Module {
    let mut lowerer = Lowerer {
        module: Module::default(),
        env: BTreeMap::new(),
    };
    for stmt in &program.stmts {
        match stmt {
            Stmt::Decl { name, dims, fill } => {
                let id = lowerer.module.push(Op::ConstTensor {
                    shape: dims.clone(),
                    fill: Some(*fill),
                });
                lowerer.module.mark_output(id);
                lowerer.env.insert(name.clone(), id);
            }
            Stmt::Let { name, expr } => {
                let id = lowerer.expr(expr);
                lowerer.module.mark_output(id);
                lowerer.env.insert(name.clone(), id);
            }
        }
    }
    let result = lowerer.expr(&program.result);
    lowerer.module.mark_output(result);
    lowerer.module
}

/// Which phase failed, for the CLI's diagnostics.
#[derive(Debug)]
pub enum CompileError {
    Frontend(Vec<Diagnostic>),
    Verify(String),
}

/// Phase durations of one `compile_source` call, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub parse: f64,
    pub typecheck: f64,
    pub lower: f64,
    pub verify: f64,
}

/// Parse, type-check and lower; `canonical` also orders commutative operands.
pub fn compile_source(source: &str, canonical: bool) -> Result<Module, CompileError> {
    let program = parse(source).map_err(CompileError::Frontend)?;
    typecheck(&program).map_err(CompileError::Frontend)?;
    let mut module = lower(&program);
    module.verify().map_err(CompileError::Verify)?;
    if canonical {
        module.canonicalize();
    }
    Ok(module)
}

/// `compile_source` with each phase timed (the `compile-timings` feature).
pub fn compile_source_timed(source: &str) -> (Result<Module, CompileError>, Timings) {
    let mut timings = Timings::default();
    let clock = std::time::Instant::now();
    let parsed = parse(source);
    timings.parse = clock.elapsed().as_secs_f64() * 1e3;
    let program = match parsed {
        Ok(program) => program,
        Err(errors) => return (Err(CompileError::Frontend(errors)), timings),
    };
    let clock = std::time::Instant::now();
    let checked = typecheck(&program);
    timings.typecheck = clock.elapsed().as_secs_f64() * 1e3;
    if let Err(errors) = checked {
        return (Err(CompileError::Frontend(errors)), timings);
    }
    let clock = std::time::Instant::now();
    let mut module = lower(&program);
    timings.lower = clock.elapsed().as_secs_f64() * 1e3;
    let clock = std::time::Instant::now();
    let verified = module.verify();
    module.canonicalize();
    timings.verify = clock.elapsed().as_secs_f64() * 1e3;
    match verified {
        Ok(()) => (Ok(module), timings),
        Err(message) => (Err(CompileError::Verify(message)), timings),
    }
}

// ---------------------------------------------------------------------------
// Evaluation (uniform-fill tensors, for `mind eval`)
// ---------------------------------------------------------------------------

/// Shape and fill value of every value: each tensor here is one number repeated.
pub fn evaluate(module: &Module) -> Vec<(Shape, f64)> {
    let mut values: Vec<(Shape, f64)> = vec![(Vec::new(), 0.0); module.next_id];
    for inst in module.instructions() {
        values[inst.id] = match &inst.op {
            Op::ConstTensor { shape, fill } => (shape.clone(), fill.unwrap_or(0.0)),
            Op::ConstI64(v) => (Vec::new(), *v as f64),
            Op::MatMul(a, b) => {
                let (sa, fa) = &values[*a];
                let (sb, fb) = &values[*b];
                let inner = sa.get(1).copied().unwrap_or(1) as f64;
                let shape = vec![
                    sa.first().copied().unwrap_or(1),
                    sb.get(1).copied().unwrap_or(1),
                ];
                (shape, fa * fb * inner)
            }
            Op::Add(a, b) | Op::Mul(a, b) => {
                let (sa, fa) = &values[*a];
                let (sb, fb) = &values[*b];
                let shape = broadcast(sa, sb).unwrap_or_default();
                let fill = if matches!(inst.op, Op::Add(..)) {
                    fa + fb
                } else {
                    fa * fb
                };
                (shape, fill)
            }
            Op::Relu(a) => (values[*a].0.clone(), values[*a].1.max(0.0)),
            Op::Sum { input, axes, .. } => {
                let (shape, fill) = &values[*input];
                let mut count = 1.0;
                let mut kept = Vec::new();
                for (i, d) in shape.iter().enumerate() {
                    if axes.contains(&(i as i64)) {
                        count *= *d as f64;
                    } else {
                        kept.push(*d);
                    }
                }
                (kept, fill * count)
            }
            Op::Transpose { input, .. } => {
                let (shape, fill) = &values[*input];
                (shape.iter().rev().copied().collect(), *fill)
            }
            Op::ReluGrad { grad, input } => {
                let fill = if values[*input].1 > 0.0 {
                    values[*grad].1
                } else {
                    0.0
                };
                (values[*input].0.clone(), fill)
            }
        };
    }
    values
}

/// `Tensor[F32,(32,10)] fill=0`
pub fn describe_value(shape: &[u64], fill: f64) -> String {
    format!("Tensor[F32,{}] fill={fill}", shape_text(shape))
}

// ---------------------------------------------------------------------------
// Reverse-mode autodiff
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutodiffError {
    pub code: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for AutodiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "error[autodiff][{code}]: {}", self.message),
            None => write!(f, "error[autodiff]: {}", self.message),
        }
    }
}

fn autodiff_error(code: &'static str, message: String) -> AutodiffError {
    AutodiffError {
        code: Some(code),
        message,
    }
}

/// Deterministic busy work: four independent 64-bit mixing lanes, `AUTODIFF_WORK` rounds.
#[inline(never)]
fn autodiff_work(salt: u64) -> u64 {
    let rounds = std::hint::black_box(AUTODIFF_WORK);
    let mut a = 0x9E37_79B9_7F4A_7C15 ^ salt;
    let mut b = 0xD1B5_4A32_D192_ED03 ^ salt;
    let mut c = 0xABC9_8388_FB8F_AC03 ^ salt;
    let mut d = 0x8CB9_2BA7_2F3D_8DD7 ^ salt;
    let mut i = 0;
    while i < rounds {
        a = (a ^ (a >> 30))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
            .wrapping_add(i);
        b = (b ^ (b >> 27))
            .wrapping_mul(0x94D0_49BB_1331_11EB)
            .wrapping_add(i);
        c = (c ^ (c >> 31))
            .wrapping_mul(0xD6E8_FEB8_6659_FD93)
            .wrapping_add(i);
        d = (d ^ (d >> 29))
            .wrapping_mul(0xFF51_AFD7_ED55_8CCD)
            .wrapping_add(i);
        i += 1;
    }
    std::hint::black_box(a ^ b ^ c ^ d)
}

//@ if hash_seeded
/// At most this many instructions are re-verified between two gradients.
const TAPE_CHECK_WINDOW: usize = 8;

/// Rounds of the tape check's mixing loop per re-verified instruction.
const TAPE_CHECK_ROUNDS: u64 = 70;

/// Deterministic busy work of the tape check, `TAPE_CHECK_ROUNDS` rounds.
#[inline(never)]
fn tape_check_work(salt: u64) -> u64 {
    let rounds = std::hint::black_box(TAPE_CHECK_ROUNDS);
    let mut x = 0x94D0_49BB_1331_11EB ^ salt;
    let mut i = 0;
    while i < rounds {
        x = (x ^ (x >> 31))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
            .wrapping_add(i);
        i += 1;
    }
    std::hint::black_box(x)
}

struct Tape {
    module: Module,
    grads: HashMap<ValueId, ValueId>,
    checksum: u64,
}

impl Tape {
    fn emit(&mut self, op: Op) -> ValueId {
        let id = self.module.push(op);
        self.checksum ^= autodiff_work(id as u64);
        id
    }

    fn accumulate(&mut self, value: ValueId, grad: ValueId) {
        let total = match self.grads.get(&value) {
            None => grad,
            Some(&existing) => self.emit(Op::Add(existing, grad)),
        };
        self.grads.insert(value, total);
    }

    /// Re-verify the tape around every gradient, in the map's order: a cursor moves
    /// from the value checked last to the next one, at most `TAPE_CHECK_WINDOW` steps.
    fn check(&mut self) {
        let mut cursor: ValueId = 0;
        for (&value, &grad) in &self.grads {
            let steps = value.abs_diff(cursor).min(TAPE_CHECK_WINDOW);
            for step in 0..steps {
                self.checksum ^= tape_check_work((value + step) as u64);
            }
            self.checksum ^= grad as u64;
            cursor = value;
        }
    }
}
//@ else
struct Tape {
    module: Module,
    grads: Vec<Option<ValueId>>,
    checksum: u64,
}

impl Tape {
    fn emit(&mut self, op: Op) -> ValueId {
        let id = self.module.push(op);
        self.checksum ^= autodiff_work(id as u64);
        id
    }

    fn accumulate(&mut self, value: ValueId, grad: ValueId) {
        let total = match self.grads[value] {
            None => grad,
            Some(existing) => self.emit(Op::Add(existing, grad)),
        };
        self.grads[value] = Some(total);
    }
}
//@ end

/// Append the gradient of the module's last output with respect to every value.
pub fn differentiate(primal: &Module, func: &str) -> Result<Module, AutodiffError> {
    if func != "main" {
        return Err(autodiff_error(
            "E4001",
            format!("function '{func}' not found in module (only 'main' is supported)"),
        ));
    }
    let outputs = primal.outputs();
    if SINGLE_OUTPUT_ONLY && outputs.len() > 1 {
        return Err(autodiff_error(
            "E4001",
            "IR module contains multiple outputs; expected a single scalar output".to_string(),
        ));
    }
    let target = match outputs.last() {
        Some(id) => *id,
        None => {
            return Err(autodiff_error(
                "E4001",
                "IR module has no outputs to differentiate".to_string(),
            ))
        }
    };
    let primal_insts: Vec<Inst> = primal.instructions().into_iter().cloned().collect();
    let mut tape = Tape {
        module: primal.clone(),
//@ if hash_seeded
        grads: HashMap::new(),
//@ else
        grads: vec![None; primal.next_id],
//@ end
        checksum: 0,
    };
    let seed = tape.emit(Op::ConstI64(1));
//@ if hash_seeded
    tape.grads.insert(target, seed);
//@ else
    tape.grads[target] = Some(seed);
//@ end
//@ if sum_axis_broadcast
    let shapes = evaluate(primal);
//@ end
    for inst in primal_insts.iter().rev() {
        if inst.id > target {
            continue;
        }
//@ if hash_seeded
        let upstream = match tape.grads.get(&inst.id) {
            Some(&grad) => grad,
            None => continue,
        };
//@ else
        let upstream = match tape.grads[inst.id] {
            Some(grad) => grad,
            None => continue,
        };
//@ end
        match &inst.op {
            Op::ConstTensor { .. } | Op::ConstI64(_) => {}
            Op::Add(a, b) => {
                tape.accumulate(*a, upstream);
                tape.accumulate(*b, upstream);
            }
            Op::Mul(a, b) => {
                let da = tape.emit(Op::Mul(*b, upstream));
                tape.accumulate(*a, da);
                let db = tape.emit(Op::Mul(*a, upstream));
                tape.accumulate(*b, db);
            }
            Op::MatMul(a, b) => {
                let bt = tape.emit(Op::Transpose {
                    input: *b,
                    perm: vec![1, 0],
                });
                let at = tape.emit(Op::Transpose {
                    input: *a,
                    perm: vec![1, 0],
                });
                let da = tape.emit(Op::MatMul(upstream, bt));
                let db = tape.emit(Op::MatMul(at, upstream));
                tape.accumulate(*a, da);
                tape.accumulate(*b, db);
            }
            Op::Relu(a) => {
//@ if relu_grad_swapped
                let da = tape.emit(Op::ReluGrad {
                    grad: *a,
                    input: upstream,
                });
//@ else
                let da = tape.emit(Op::ReluGrad {
                    grad: upstream,
                    input: *a,
                });
//@ end
                tape.accumulate(*a, da);
            }
//@ if sum_axis_broadcast
            Op::Sum { input, axes, .. } => {
                // A sum over one axis of a matrix: the gradient is broadcast back to the
                // input's shape, added to zeros (the trailing axis through a transpose).
                let shape = &shapes[*input].0;
                if shape.len() == 2 && axes.len() == 1 {
                    let trailing = axes[0] == 1;
                    let zeros = tape.emit(Op::ConstTensor {
                        shape: if trailing { vec![shape[1], shape[0]] } else { shape.clone() },
                        fill: Some(0.0),
                    });
                    let spread = tape.emit(Op::Add(upstream, zeros));
                    let da = if trailing {
                        tape.emit(Op::Transpose {
                            input: spread,
                            perm: vec![1, 0],
                        })
                    } else {
                        spread
                    };
                    tape.accumulate(*input, da);
                } else {
                    tape.accumulate(*input, upstream);
                }
            }
//@ else
            Op::Sum { input, .. } => tape.accumulate(*input, upstream),
//@ end
            Op::Transpose { input, perm } => {
                let mut inverse = vec![0; perm.len()];
                for (i, p) in perm.iter().enumerate() {
                    inverse[*p] = i;
                }
                let da = tape.emit(Op::Transpose {
                    input: upstream,
                    perm: inverse,
                });
                tape.accumulate(*input, da);
            }
            Op::ReluGrad { .. } => {
                return Err(autodiff_error(
                    "E4002",
                    format!("no gradient rule for `{}`", inst.op),
                ))
            }
        }
    }
//@ if hash_seeded
    tape.check();
//@ end
    std::hint::black_box(tape.checksum);
    Ok(tape.module)
}
