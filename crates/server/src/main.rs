//! The `tern` command line. Thin on purpose: parse arguments, call the library, map the
//! outcome to an exit code. Arguments are parsed by hand: there are three subcommands and
//! one option, and a parser crate would cost more build time than this file.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

// mimalloc: per-thread heaps suit thread-per-core, and allocation is on the per-message
// path (envelopes, bodies).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: tern check-config FILE
       tern serve [--config FILE]
       tern queue list [--config FILE]
       tern queue show ID [--config FILE]
       tern --help | --version";

const HELP: &str = "\
tern: a high-performance SMTP relay

Commands:
  check-config FILE      Validate FILE; print \"FILE: ok\" or the first error.
  serve [--config FILE]  Run the relay (with the built-in default config if no FILE).
  queue list [--config FILE]
                         List queued messages (reads data_dir; no server needed).
  queue show ID [--config FILE]
                         Show one queued message with its content.

Options:
  -h, --help             Print this help.
  -V, --version          Print the version.

Exit status: 0 on success, 2 on a usage or configuration error.";

/// What went wrong, already worded for the user; each maps to exit code 2, the
/// convention for "you asked for something that cannot be done as asked" (as grep and
/// many daemons' config checks use), keeping 1 free for a future runtime failure.
#[derive(Debug)]
enum Failure {
    /// Bad arguments: print the message and the usage.
    Usage(String),
    /// Anything else: print the message alone.
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Help,
    Version,
    CheckConfig(PathBuf),
    Serve(Option<PathBuf>),
    QueueList(Option<PathBuf>),
    QueueShow(String, Option<PathBuf>),
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("tern: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Error(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Failure> {
    match parse_args(std::env::args_os().skip(1))? {
        Command::Help => println!("{HELP}\n\n{USAGE}"),
        Command::Version => println!("tern {}", env!("CARGO_PKG_VERSION")),
        Command::CheckConfig(path) => {
            tern::config::load(&path).map_err(|e| Failure::Error(e.to_string()))?;
            println!("{}: ok", path.display());
        }
        Command::Serve(path) => {
            let config = load(path.as_deref())?;
            tern::run(config).map_err(|e| Failure::Error(format!("tern: {e}")))?;
        }
        Command::QueueList(path) => {
            let config = load(path.as_deref())?;
            print!(
                "{}",
                tern::queue_cmd::list(&config).map_err(Failure::Error)?
            );
        }
        Command::QueueShow(id, path) => {
            let config = load(path.as_deref())?;
            let shown = tern::queue_cmd::show(&config, &id).map_err(Failure::Error)?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&shown)
                .and_then(|()| stdout.flush())
                .map_err(|e| Failure::Error(format!("tern: cannot write to stdout: {e}")))?;
        }
    }
    Ok(())
}

/// The config file given, or the built-in default.
fn load(path: Option<&Path>) -> Result<tern::config::Config, Failure> {
    match path {
        Some(p) => tern::config::load(p),
        None => tern::config::default_config(),
    }
    .map_err(|e| Failure::Error(e.to_string()))
}

/// `[--config FILE]`, the only option of serve and queue.
fn config_option(args: &mut impl Iterator<Item = OsString>) -> Result<Option<PathBuf>, Failure> {
    let mut config = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--config") if config.is_none() => {
                let file = args
                    .next()
                    .ok_or_else(|| Failure::Usage("--config needs a FILE".to_owned()))?;
                config = Some(PathBuf::from(file));
            }
            _ => return Err(unexpected(&arg)),
        }
    }
    Ok(config)
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, Failure> {
    let mut args = args.into_iter();
    let usage = |m: String| Failure::Usage(m);
    let first = args
        .next()
        .ok_or_else(|| usage("missing command".to_owned()))?;
    let command = match first.to_str() {
        Some("-h" | "--help" | "help") => Command::Help,
        Some("-V" | "--version") => Command::Version,
        Some("check-config") => {
            let file = args
                .next()
                .ok_or_else(|| usage("check-config needs a FILE".to_owned()))?;
            Command::CheckConfig(PathBuf::from(file))
        }
        Some("serve") => Command::Serve(config_option(&mut args)?),
        Some("queue") => match args.next().as_ref().map(|a| a.to_str()) {
            Some(Some("list")) => Command::QueueList(config_option(&mut args)?),
            Some(Some("show")) => {
                let id = args
                    .next()
                    .ok_or_else(|| usage("queue show needs a message ID".to_owned()))?;
                let id = id.to_string_lossy().into_owned();
                Command::QueueShow(id, config_option(&mut args)?)
            }
            Some(_) => return Err(usage("queue needs list or show".to_owned())),
            None => return Err(usage("queue needs list or show".to_owned())),
        },
        _ => return Err(unexpected(&first)),
    };
    // Every command takes a fixed set of arguments; anything left over is a mistake.
    match args.next() {
        Some(extra) => Err(unexpected(&extra)),
        None => Ok(command),
    }
}

fn unexpected(arg: &OsString) -> Failure {
    Failure::Usage(format!("unexpected argument {:?}", arg.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(OsString::from)).map_err(|f| match f {
            Failure::Usage(m) => format!("usage: {m}"),
            Failure::Error(m) => m,
        })
    }

    #[test]
    fn args_table() {
        let table: &[(&[&str], Result<Command, &str>)] = &[
            (&["--help"], Ok(Command::Help)),
            (&["-h"], Ok(Command::Help)),
            (&["--version"], Ok(Command::Version)),
            (&["-V"], Ok(Command::Version)),
            (
                &["check-config", "a.toml"],
                Ok(Command::CheckConfig(PathBuf::from("a.toml"))),
            ),
            (&["serve"], Ok(Command::Serve(None))),
            (
                &["serve", "--config", "t.toml"],
                Ok(Command::Serve(Some(PathBuf::from("t.toml")))),
            ),
            (&["queue", "list"], Ok(Command::QueueList(None))),
            (
                &["queue", "list", "--config", "t.toml"],
                Ok(Command::QueueList(Some(PathBuf::from("t.toml")))),
            ),
            (
                &["queue", "show", "3-17"],
                Ok(Command::QueueShow("3-17".to_owned(), None)),
            ),
            (
                &["queue", "show", "3-17", "--config", "t.toml"],
                Ok(Command::QueueShow(
                    "3-17".to_owned(),
                    Some(PathBuf::from("t.toml")),
                )),
            ),
            (&[], Err("usage: missing command")),
            (&["check-config"], Err("usage: check-config needs a FILE")),
            (
                &["check-config", "a", "b"],
                Err("usage: unexpected argument \"b\""),
            ),
            (&["serve", "--config"], Err("usage: --config needs a FILE")),
            (
                &["serve", "--config", "a", "--config", "b"],
                Err("usage: unexpected argument \"--config\""),
            ),
            (&["serve", "-x"], Err("usage: unexpected argument \"-x\"")),
            (&["queue"], Err("usage: queue needs list or show")),
            (&["queue", "drop"], Err("usage: queue needs list or show")),
            (
                &["queue", "show"],
                Err("usage: queue show needs a message ID"),
            ),
            (
                &["queue", "list", "x"],
                Err("usage: unexpected argument \"x\""),
            ),
            (
                &["--frobnicate"],
                Err("usage: unexpected argument \"--frobnicate\""),
            ),
            (&["--help", "x"], Err("usage: unexpected argument \"x\"")),
        ];
        for (args, want) in table {
            assert_eq!(
                parse(args),
                want.clone().map_err(str::to_string),
                "args {args:?}"
            );
        }
    }
}
