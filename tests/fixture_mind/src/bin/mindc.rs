//! `mindc`: compile a MIND program and print its IR or gradient IR.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use mind::{compile_source, CompileError, Module};

const USAGE: &str = "Usage: mindc [OPTIONS] [FILE]";

const HELP: &str = "\
Usage: mindc [OPTIONS] [FILE]

Arguments:
  [FILE]  Input .mind file to compile

Options:
      --version                     Print the compiler version and component stability versions
      --stability                   Print a short description of the public stability model
      --emit-ir                     Emit canonical IR for the module
      --emit-grad-ir                Emit gradient IR for the selected function (requires --autodiff)
      --emit-mlir                   Emit MLIR text for the canonical IR (requires feature mlir-lowering)
      --func <NAME>                 Focus on a specific function (used for autodiff and MLIR)
      --autodiff                    Run autodiff for the selected function and expose the gradient IR/MLIR
      --verify-only                 Only verify the pipeline without emitting artifacts
      --target <TARGET>             Select the execution target backend (cpu|gpu) [default: cpu]
      --diagnostic-format <FORMAT>  Diagnostic output format (human|short|json) [default: human]
      --color <WHEN>                ANSI color handling (auto|always|never)
  -h, --help                        Print help
";

const STABILITY: &str = "\
MIND stability model: core-ir and core-autodiff follow semantic versioning;
everything else (CLI flags, diagnostics text, MLIR output) may change between releases.
";

#[derive(Default)]
struct Options {
    file: Option<String>,
    emit_ir: bool,
    emit_grad_ir: bool,
    emit_mlir: bool,
    autodiff: bool,
    verify_only: bool,
    func: Option<String>,
}

enum Command {
    Run(Options),
    Print(String),
}

/// A command-line error, printed clap-style with exit code 2.
fn usage_error(message: &str) -> String {
    format!("error: {message}\n\n{USAGE}\n\nFor more information, try '--help'.\n")
}

fn version_text() -> String {
    let components = if cfg!(feature = "autodiff") {
        "core-ir=1.0  core-autodiff=1.0"
    } else {
        "core-ir=1.0"
    };
    format!("mind {}\n{components}\n", env!("CARGO_PKG_VERSION"))
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut options = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg, None),
        };
        let takes_value = matches!(
            flag,
            "--func" | "--target" | "--diagnostic-format" | "--color"
        );
        let value = if takes_value {
            match inline_value {
                Some(value) => Some(value),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => {
                    return Err(usage_error(&format!(
                        "a value is required for '{flag}' but none was supplied"
                    )))
                }
            }
        } else if inline_value.is_some() {
            return Err(usage_error(&format!("unexpected value for '{flag}'")));
        } else {
            None
        };
        let choices: &[&str] = match flag {
            "--target" => &["cpu", "gpu"],
            "--diagnostic-format" => &["human", "short", "json"],
            "--color" => &["auto", "always", "never"],
            _ => &[],
        };
        if let Some(value) = &value {
            if !choices.is_empty() && !choices.contains(&value.as_str()) {
                return Err(usage_error(&format!(
                    "invalid value '{value}' for '{flag}' [possible values: {}]",
                    choices.join(", ")
                )));
            }
        }
        match flag {
            "--version" | "-V" => return Ok(Command::Print(version_text())),
            "--help" | "-h" => return Ok(Command::Print(HELP.to_string())),
            "--stability" => return Ok(Command::Print(STABILITY.to_string())),
            "--emit-ir" => options.emit_ir = true,
            "--emit-grad-ir" => options.emit_grad_ir = true,
            "--emit-mlir" => options.emit_mlir = true,
            "--autodiff" => options.autodiff = true,
            "--verify-only" => options.verify_only = true,
            "--func" => options.func = value,
            "--target" | "--diagnostic-format" | "--color" => {}
            _ if arg.starts_with('-') && arg.len() > 1 => {
                return Err(usage_error(&format!("unexpected argument '{arg}' found")))
            }
            _ if options.file.is_none() => options.file = Some(arg.to_string()),
            _ => return Err(usage_error(&format!("unexpected argument '{arg}' found"))),
        }
    }
    Ok(Command::Run(options))
}

fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

#[cfg(feature = "compile-timings")]
fn compile(source: &str) -> Result<Module, CompileError> {
    let wanted = std::env::var_os("MIND_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0");
    if !wanted {
        return compile_source(source, true);
    }
    let (result, t) = mind::compile_source_timed(source);
    let total = t.parse + t.typecheck + t.lower + t.verify;
    let mut text = format!("[mind-timings] compile_source: total {total:.3} ms\n");
    for (name, ms) in [
        ("parse", t.parse),
        ("typecheck", t.typecheck),
        ("ir-lower", t.lower),
        ("verify+canon", t.verify),
    ] {
        text.push_str(&format!("[mind-timings]   {name:<14} {ms:.3} ms\n"));
    }
    eprint!("{text}");
    result
}

#[cfg(not(feature = "compile-timings"))]
fn compile(source: &str) -> Result<Module, CompileError> {
    compile_source(source, true)
}

#[cfg(feature = "autodiff")]
fn gradient(module: &Module, func: &str) -> Result<Module, String> {
    mind::differentiate(module, func).map_err(|error| error.to_string())
}

#[cfg(not(feature = "autodiff"))]
fn gradient(_module: &Module, _func: &str) -> Result<Module, String> {
    Err(
        "error[autodiff][E4003]: autodiff requested but the 'autodiff' feature is not enabled"
            .to_string(),
    )
}

fn run(options: Options) -> Result<String, String> {
    let path = match &options.file {
        Some(path) => path,
        None => return Err(usage_error("no input file given")),
    };
    let source = std::fs::read_to_string(path)
        .map_err(|error| format!("failed to read {path}: {error}\n"))?;
    let module = match compile(&source) {
        Ok(module) => module,
        Err(CompileError::Frontend(errors)) => {
            return Err(errors.iter().map(|e| e.render(path, &source)).collect())
        }
        Err(CompileError::Verify(message)) => return Err(format!("error[verify]: {message}\n")),
    };
    if options.emit_mlir {
        return Err("error[mlir]: --emit-mlir requires the 'mlir-lowering' feature\n".to_string());
    }
    let grad_module = if options.autodiff {
        if cfg!(feature = "autodiff") && options.func.is_none() {
            return Err("error[autodiff]: --autodiff requires --func <name>\n".to_string());
        }
        let func = options.func.as_deref().unwrap_or("main");
        Some(gradient(&module, func).map_err(|message| message + "\n")?)
    } else {
        None
    };
    let mut out = String::new();
    if options.verify_only {
        return Ok(out);
    }
    if options.emit_ir {
        out.push_str(&format!("{module}\n"));
    }
    if options.emit_grad_ir {
        if let Some(grad_module) = &grad_module {
            out.push_str(&format!("{grad_module}\n"));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Err(message) => {
            eprint!("{message}");
            ExitCode::from(2)
        }
        Ok(Command::Print(text)) => {
            write_stdout(&text);
            ExitCode::SUCCESS
        }
        Ok(Command::Run(options)) => {
            let usage = options.file.is_none();
            match run(options) {
                Ok(text) => {
                    write_stdout(&text);
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprint!("{message}");
                    ExitCode::from(if usage { 2 } else { 1 })
                }
            }
        }
    }
}
