//! `mind eval --exec`: the runtime engine, `grad(LOSS, wrt=[...])` evaluated per call.
//!
//! Like MIND's interpreter, constant-filled tensors stay symbolic: every value is a
//! shape and, where known, the one number it is filled with; gradients are pushed
//! back through a tape of the forward expression. A forward value that went
//! through a matmul is materialized, as MIND's CPU buffers are.

use std::collections::{BTreeMap, HashMap};

use mind::{parse, BinOp, Diagnostic, Expr, ExprKind, Program, Span, Stmt};

/// The upstream gradient of a matmul is passed to both operands unchanged (the rule
/// real MIND's runtime has at v0.10.2), instead of `G @ B^T` and `A^T @ G`.
//@ if runtime_matmul_passthrough
const MATMUL_PASSES_GRADIENT_THROUGH: bool = true;
//@ else
const MATMUL_PASSES_GRADIENT_THROUGH: bool = false;
//@ end

const SAMPLE_LIMIT: usize = 8;

#[derive(Clone, Debug)]
enum Node {
    Leaf,
    Add(usize, usize),
    Mul(usize, usize),
    MatMul(usize, usize),
    Relu(usize),
    Sum(usize),
}

#[derive(Clone, Debug)]
struct Value {
    shape: Vec<u64>,
    fill: Option<f64>,
    materialized: bool,
}

struct Tape {
    nodes: Vec<(Node, Value)>,
}

/// What an evaluation gives: stdout, stderr, or a panic message for the caller.
pub enum Outcome {
    Printed { out: String, err: String },
    NeedsLowering { out: String, err: String },
}

fn unsupported() -> String {
    "Evaluation error: unsupported: unsupported node in autodiff\n".to_string()
}

fn type_error(source: &str, errors: &[Diagnostic]) -> String {
    let summary: Vec<String> = errors
        .iter()
        .map(|e| format!("[{}] {}", e.code, e.message))
        .collect();
    let mut err = format!("Evaluation error: type error\n{}\n", summary.join("; "));
    for error in errors {
        err.push_str(&error.render_eval(source));
    }
    err
}

/// A fill that is not a whole number is a scalar f64 to MIND's type checker.
fn fractional_fills(source: &str, program: &Program) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for stmt in &program.stmts {
        if let Stmt::Decl { name, dims, fill } = stmt {
            if fill.fract() == 0.0 {
                continue;
            }
            let start = source
                .find(&format!("let {name}:"))
                .and_then(|at| source[at..].find('=').map(|eq| at + eq + 1))
                .map(|at| at + source[at..].len() - source[at..].trim_start().len())
                .unwrap_or(0);
            let end = source[start..]
                .find(';')
                .map(|i| start + i)
                .unwrap_or(source.len());
            let dims: Vec<String> = dims.iter().map(u64::to_string).collect();
            errors.push(Diagnostic {
                code: "E2001",
                message: format!(
                    "type mismatch for `{name}`: annotation Tensor[f32, ({})] vs inferred \
                     Scalar[f64]",
                    dims.join(", ")
                ),
                span: Span { start, end },
            });
        }
    }
    errors
}

fn broadcast(a: &[u64], b: &[u64]) -> Option<Vec<u64>> {
    let rank = a.len().max(b.len());
    let mut shape = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        shape[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(shape)
}

fn both(a: Option<f64>, b: Option<f64>, f: impl Fn(f64, f64) -> f64) -> Option<f64> {
    Some(f(a?, b?))
}

impl Tape {
    fn push(&mut self, node: Node, value: Value) -> usize {
        self.nodes.push((node, value));
        self.nodes.len() - 1
    }

    fn value(&self, id: usize) -> &Value {
        &self.nodes[id].1
    }

    fn positional(args: &[mind::Arg]) -> Vec<&Expr> {
        args.iter()
            .filter(|a| a.keyword.is_none())
            .map(|a| &a.value)
            .collect()
    }

    fn eval(&mut self, expr: &Expr, names: &HashMap<String, usize>) -> Result<usize, String> {
        match &expr.kind {
            ExprKind::Ident(name) => names.get(name).copied().ok_or_else(unsupported),
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.eval(lhs, names)?, self.eval(rhs, names)?);
                let (a, b) = (self.value(l).clone(), self.value(r).clone());
                let shape = broadcast(&a.shape, &b.shape).ok_or_else(unsupported)?;
                let (node, fill) = match op {
                    BinOp::Add => (Node::Add(l, r), both(a.fill, b.fill, |x, y| x + y)),
                    BinOp::Mul => (Node::Mul(l, r), both(a.fill, b.fill, |x, y| x * y)),
                };
                let materialized = a.materialized || b.materialized;
                Ok(self.push(node, Value { shape, fill, materialized }))
            }
            ExprKind::Call { callee, args } => {
                let operands = Self::positional(args);
                match (callee.as_str(), operands.as_slice()) {
                    ("tensor.matmul", [a, b]) => {
                        let (l, r) = (self.eval(a, names)?, self.eval(b, names)?);
                        let (a, b) = (self.value(l).clone(), self.value(r).clone());
                        if a.shape.len() != 2 || b.shape.len() != 2 || a.shape[1] != b.shape[0] {
                            return Err(unsupported());
                        }
                        let inner = a.shape[1] as f64;
                        let value = Value {
                            shape: vec![a.shape[0], b.shape[1]],
                            fill: both(a.fill, b.fill, |x, y| x * y * inner),
                            materialized: true,
                        };
                        Ok(self.push(Node::MatMul(l, r), value))
                    }
                    ("tensor.relu", [x]) => {
                        let id = self.eval(x, names)?;
                        let mut value = self.value(id).clone();
                        value.fill = value.fill.map(|f| f.max(0.0));
                        Ok(self.push(Node::Relu(id), value))
                    }
                    ("tensor.sum", [x]) => {
                        let id = self.eval(x, names)?;
                        let input = self.value(id).clone();
                        let count: f64 = input.shape.iter().map(|d| *d as f64).product();
                        let value = Value {
                            shape: Vec::new(),
                            fill: input.fill.map(|f| f * count),
                            materialized: input.materialized,
                        };
                        Ok(self.push(Node::Sum(id), value))
                    }
                    _ => Err(unsupported()),
                }
            }
            ExprKind::Number(_) | ExprKind::List(_) => Err(unsupported()),
        }
    }

    /// The factor by which a gradient of shape `from` shrinks to `to` (summed axes).
    fn reduction(from: &[u64], to: &[u64]) -> f64 {
        let offset = from.len() - to.len().min(from.len());
        from.iter()
            .enumerate()
            .map(|(i, d)| {
                let kept = i >= offset && to[i - offset] == *d;
                if kept {
                    1.0
                } else {
                    *d as f64
                }
            })
            .product()
    }

    fn accumulate(adj: &mut BTreeMap<usize, Option<f64>>, id: usize, fill: Option<f64>) {
        let total = match adj.get(&id) {
            Some(existing) => both(*existing, fill, |x, y| x + y),
            None => fill,
        };
        adj.insert(id, total);
    }

    fn backward(&self, loss: usize) -> BTreeMap<usize, Option<f64>> {
        let mut adj: BTreeMap<usize, Option<f64>> = BTreeMap::new();
        adj.insert(loss, Some(1.0));
        for id in (0..self.nodes.len()).rev() {
            let Some(grad) = adj.get(&id).copied() else {
                continue;
            };
            let (node, value) = &self.nodes[id];
            let scaled = |target: usize| -> Option<f64> {
                let factor = Self::reduction(&value.shape, &self.value(target).shape);
                grad.map(|g| g * factor)
            };
            match node {
                Node::Leaf => {}
                Node::Add(l, r) => {
                    Self::accumulate(&mut adj, *l, scaled(*l));
                    Self::accumulate(&mut adj, *r, scaled(*r));
                }
                Node::Mul(l, r) => {
                    let (fl, fr) = (self.value(*l).fill, self.value(*r).fill);
                    Self::accumulate(&mut adj, *l, both(scaled(*l), fr, |g, f| g * f));
                    Self::accumulate(&mut adj, *r, both(scaled(*r), fl, |g, f| g * f));
                }
                Node::MatMul(a, b) => {
                    if MATMUL_PASSES_GRADIENT_THROUGH {
                        Self::accumulate(&mut adj, *a, grad);
                        Self::accumulate(&mut adj, *b, grad);
                    } else {
                        let (va, vb) = (self.value(*a), self.value(*b));
                        let (rows, cols) = (va.shape[0] as f64, vb.shape[1] as f64);
                        let da = both(grad, vb.fill, |g, f| g * f * cols);
                        let db = both(grad, va.fill, |g, f| g * f * rows);
                        Self::accumulate(&mut adj, *a, da);
                        Self::accumulate(&mut adj, *b, db);
                    }
                }
                Node::Relu(x) => {
                    let gated = match self.value(*x).fill {
                        Some(f) if f > 0.0 => grad,
                        Some(_) => Some(0.0),
                        None => None,
                    };
                    Self::accumulate(&mut adj, *x, gated);
                }
                Node::Sum(x) => Self::accumulate(&mut adj, *x, grad),
            }
        }
        adj
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{:.6}", x);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn describe(value: &Value) -> String {
    let dims: Vec<String> = value.shape.iter().map(u64::to_string).collect();
    let head = format!("Tensor[F32,({})]", dims.join(","));
    match value.fill {
        Some(fill) if value.materialized => {
            let count: u64 = value.shape.iter().product();
            let shown = (count as usize).min(SAMPLE_LIMIT);
            let mut sample = vec![trim_float(fill); shown];
            if count as usize > SAMPLE_LIMIT {
                sample.push("...".to_string());
            }
            format!("{head} materialized (sample=[{}])", sample.join(","))
        }
        Some(fill) => format!("{head} fill={}", trim_float(fill)),
        None => head,
    }
}

/// Evaluate `source`; a `grad(...)` result outside `--exec` must then be lowered,
/// which MIND cannot do (the caller panics, as MIND's lowering does).
pub fn run(source: &str, exec: bool) -> Outcome {
    let program = match parse(source) {
        Ok(program) => program,
        Err(errors) => {
            return Outcome::Printed {
                out: String::new(),
                err: type_error(source, &errors),
            }
        }
    };
    let errors = fractional_fills(source, &program);
    if !errors.is_empty() {
        return Outcome::Printed {
            out: String::new(),
            err: type_error(source, &errors),
        };
    }
    let mut tape = Tape { nodes: Vec::new() };
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut leaves: BTreeMap<String, usize> = BTreeMap::new();
    for stmt in &program.stmts {
        let id = match stmt {
            Stmt::Decl { name, dims, fill } => {
                let value = Value {
                    shape: dims.clone(),
                    fill: Some(*fill),
                    materialized: false,
                };
                let id = tape.push(Node::Leaf, value);
                leaves.insert(name.clone(), id);
                id
            }
            Stmt::Let { expr, .. } => match tape.eval(expr, &names) {
                Ok(id) => id,
                Err(err) => {
                    return Outcome::Printed {
                        out: String::new(),
                        err,
                    }
                }
            },
        };
        let name = match stmt {
            Stmt::Decl { name, .. } | Stmt::Let { name, .. } => name,
        };
        names.insert(name.clone(), id);
    }
    let (loss, wrt) = match &program.result.kind {
        ExprKind::Call { callee, args } if callee == "grad" => {
            let loss = args.iter().find(|a| a.keyword.is_none()).map(|a| &a.value);
            let wrt = args
                .iter()
                .find(|a| a.keyword.as_deref() == Some("wrt"))
                .map(|a| &a.value);
            match (loss, wrt) {
                (Some(loss), Some(Expr { kind: ExprKind::List(items), .. })) => (loss, items),
                _ => {
                    return Outcome::Printed {
                        out: String::new(),
                        err: unsupported(),
                    }
                }
            }
        }
        _ => {
            return match tape.eval(&program.result, &names) {
                Ok(id) => Outcome::Printed {
                    out: format!("{}\n", describe(tape.value(id))),
                    err: String::new(),
                },
                Err(err) => Outcome::Printed {
                    out: String::new(),
                    err,
                },
            }
        }
    };
    let loss = match tape.eval(loss, &names) {
        Ok(id) => id,
        Err(err) => {
            return Outcome::Printed {
                out: String::new(),
                err,
            }
        }
    };
    let adj = tape.backward(loss);
    let mut grads: BTreeMap<String, Value> = BTreeMap::new();
    for item in wrt {
        let ExprKind::Ident(name) = &item.kind else {
            return Outcome::Printed {
                out: String::new(),
                err: unsupported(),
            };
        };
        let Some(id) = leaves.get(name) else {
            return Outcome::Printed {
                out: String::new(),
                err: unsupported(),
            };
        };
        if let Some(fill) = adj.get(id) {
            let value = Value {
                shape: tape.value(*id).shape.clone(),
                fill: *fill,
                materialized: false,
            };
            grads.insert(name.clone(), value);
        }
    }
    let mut err = String::new();
    let parts: Vec<String> = grads
        .iter()
        .map(|(name, value)| {
            err.push_str(&format!("grad {:?} fill {:?}\n", name, value.fill));
            format!("{name}: {}", describe(value))
        })
        .collect();
    let out = format!("grad{{ {} }}\n", parts.join(", "));
    if exec {
        Outcome::Printed { out, err }
    } else {
        Outcome::NeedsLowering { out, err }
    }
}
