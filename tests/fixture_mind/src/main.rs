//! `mind`: evaluate a MIND program given on the command line.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::ExitCode;

use mind::{compile_source, describe_value, evaluate, CompileError};
//@ if runtime_grad

mod runtime;

/// `mind eval [--exec] PROGRAM` where the runtime engine answers: a `grad(...)` result,
/// or any program under `--exec`. Without the `cpu-exec` feature `--exec` falls back to
/// the preview, as MIND's does; outside `--exec` a gradient cannot be lowered and the
/// lowering panics after the answer is printed, as MIND's does.
fn eval_runtime(source: &str, exec: bool) -> (String, String) {
    #[allow(unused_mut)]
    let mut notice = String::new();
    #[cfg(not(feature = "cpu-exec"))]
    let exec = {
        if exec {
            notice.push_str("--exec requested but cpu-exec feature is not enabled; running in preview.\n");
        }
        false
    };
    if !exec && !source.contains("grad(") {
        let (out, err) = eval(source);
        return (out, notice + &err);
    }
    match runtime::run(source, exec) {
        runtime::Outcome::Printed { out, err } => (out, notice + &err),
        runtime::Outcome::NeedsLowering { out, err } => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            eprint!("{notice}{err}");
            panic!(
                "lower_expr: no IR lowering for `CallGrad` in value position — refusing to emit \
                 a const-0 placeholder (that would be a silent miscompile)."
            );
        }
    }
}
//@ end

const HELP: &str = "\
Usage: mind <COMMAND>

Commands:
  eval  
  repl  
  help  Print this message or the help of the given subcommand(s)

Options:
  -h, --help     Print help
  -V, --version  Print version
";

fn usage_error(message: &str) -> String {
    format!("error: {message}\n\nUsage: mind <COMMAND>\n\nFor more information, try '--help'.\n")
}

/// Like the real CLI, a program that fails to type-check still exits 0.
fn eval(source: &str) -> (String, String) {
    match compile_source(source, false) {
        Ok(module) => {
            let values = evaluate(&module);
            let result = match module.outputs().last() {
                Some(id) => describe_value(&values[*id].0, values[*id].1),
                None => "()".to_string(),
            };
            let out = format!("{result}\n--- Lowered IR ---\n{module}\n--- Result ---\n{result}\n");
            (out, String::new())
        }
        Err(CompileError::Frontend(errors)) => {
            let summary: Vec<String> = errors
                .iter()
                .map(|e| format!("[{}] {}", e.code, e.message))
                .collect();
            let mut err = format!("Evaluation error: type error\n{}\n", summary.join("; "));
            for error in &errors {
                err.push_str(&error.render_eval(source));
            }
            (String::new(), err)
        }
        Err(CompileError::Verify(message)) => {
            (String::new(), format!("Evaluation error: {message}\n"))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, err, code) = match args.first().map(String::as_str) {
        None => (String::new(), HELP.to_string(), 2),
        Some("-V" | "--version") => (
            format!("mind {}\n", env!("CARGO_PKG_VERSION")),
            String::new(),
            0,
        ),
        Some("-h" | "--help" | "help") => (HELP.to_string(), String::new(), 0),
//@ if runtime_grad
        Some("eval") if args.len() == 3 && args[1] == "--exec" => {
            let (out, err) = eval_runtime(&args[2], true);
            (out, err, 0)
        }
        Some("eval") if args.len() == 2 && args[1].contains("grad(") => {
            let (out, err) = eval_runtime(&args[1], false);
            (out, err, 0)
        }
//@ end
        Some("eval") => match args.len() {
            2 => {
                let (out, err) = eval(&args[1]);
                (out, err, 0)
            }
            1 => (
                String::new(),
                "error: the following required arguments were not provided:\n  <PROGRAM>\n\n\
                 Usage: mind eval <PROGRAM>\n\nFor more information, try '--help'.\n"
                    .to_string(),
                2,
            ),
            _ => (
                String::new(),
                usage_error(&format!("unexpected argument '{}' found", args[2])),
                2,
            ),
        },
        Some("repl") => {
            let mut source = String::new();
            let _ = std::io::stdin().read_to_string(&mut source);
            let (out, err) = eval(&source);
            (out, err, 0)
        }
        Some(other) => (
            String::new(),
            usage_error(&format!("unrecognized subcommand '{other}'")),
            2,
        ),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    eprint!("{err}");
    ExitCode::from(code)
}
