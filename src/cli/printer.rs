//! The one owner of what rollcall writes to the terminal. Data goes to stdout, messages to
//! stderr; `-q` leaves only errors and each command's final one-line summary; colour follows
//! `--color`, then `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM=dumb`, and is never the only
//! signal. The voice (message shapes, backticks, plurals) is written down in STYLE.md.
#![allow(clippy::disallowed_macros)]

use std::fmt::Display;
use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::ColorChoice;

/// How much a command says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and the final summary only.
    Quiet,
    Normal,
    /// `-v` and more: logs on stderr too.
    Verbose,
}

/// Where output goes and how it looks, decided once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// Whether stdout takes ANSI styles.
    pub color_stdout: bool,
    /// Whether stderr takes ANSI styles.
    pub color_stderr: bool,
}

impl Printer {
    pub fn new(color: ColorChoice, quiet: bool, verbose: u8) -> Self {
        match color {
            ColorChoice::Always => anstream::ColorChoice::Always.write_global(),
            ColorChoice::Never => anstream::ColorChoice::Never.write_global(),
            ColorChoice::Auto => {}
        }
        let on = |choice| choice != anstream::ColorChoice::Never;
        Printer {
            verbosity: match (quiet, verbose) {
                (true, _) => Verbosity::Quiet,
                (false, 0) => Verbosity::Normal,
                _ => Verbosity::Verbose,
            },
            color_stdout: on(anstream::AutoStream::choice(&std::io::stdout())),
            color_stderr: on(anstream::AutoStream::choice(&std::io::stderr())),
        }
    }

    pub fn quiet(&self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    /// What the command was asked for (a plan, JSON, a schema), written as it is.
    pub fn data(&self, text: &str) {
        write(&mut std::io::stdout(), text);
    }

    /// A line about what happened, on stdout; left out under `-q`.
    pub fn out(&self, text: impl Display) {
        if !self.quiet() {
            write(&mut std::io::stdout(), &format!("{text}\n"));
        }
    }

    /// The command's final one-line summary, on stdout, even under `-q`.
    pub fn summary(&self, text: impl Display) {
        write(&mut std::io::stdout(), &format!("{text}\n"));
    }

    /// A message on stderr; left out under `-q`.
    pub fn note(&self, text: impl Display) {
        if !self.quiet() {
            write(&mut std::io::stderr(), &format!("{text}\n"));
        }
    }

    /// A block already shaped as errors (diagnostics), on stderr, always.
    pub fn report(&self, text: impl Display) {
        write(&mut std::io::stderr(), &format!("{text}\n"));
    }

    /// `error: ...` on stderr, always. An error is one line: any control character in it (from
    /// a file, a saved plan or a service) is shown as an escape, never acted on.
    pub fn error(&self, message: impl Display) {
        let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let label = self.paint_err(style, "error");
        let message = crate::escape::visible(&message.to_string()).into_owned();
        write(&mut std::io::stderr(), &format!("{label}: {message}\n"));
    }

    /// `warning: ...` on stderr; left out under `-q`.
    pub fn warning(&self, message: impl Display) {
        if !self.quiet() {
            let style = Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()));
            let label = self.paint_err(style, "warning");
            let message = crate::escape::visible(&message.to_string()).into_owned();
            write(&mut std::io::stderr(), &format!("{label}: {message}\n"));
        }
    }

    /// Asks on stdout and reads one line from the terminal.
    pub fn ask(&self, prompt: &str) -> std::io::Result<String> {
        let mut stdout = std::io::stdout();
        write!(stdout, "{prompt}")?;
        stdout.flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(answer)
    }

    fn paint_err(&self, style: Style, text: &str) -> String {
        if self.color_stderr {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// A progress bar (or, without a total, a spinner) on stderr, drawn only on a terminal and never
/// under `-q`. Lines printed while it runs go through [`Progress::suspend`], so they are never
/// drawn over.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Printer {
    /// Starts a progress display for `total` steps, or a spinner when the total is unknown.
    pub fn progress(&self, total: Option<u64>, message: &str) -> Progress {
        use std::io::IsTerminal;
        // A dumb terminal cannot move its cursor back over a bar.
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let shown = !self.quiet() && !dumb && std::io::stderr().is_terminal();
        let bar = shown.then(|| {
            let (bar, template) = match total {
                Some(n) => (
                    indicatif::ProgressBar::new(n),
                    "{spinner} {msg} [{bar:30}] {pos}/{len}",
                ),
                None => (indicatif::ProgressBar::new_spinner(), "{spinner} {msg}"),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(message.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }
}

impl Progress {
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// Runs `print` with the bar cleared from the screen, then draws it again.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Writes `text`; a reader that went away (`| head`) ends the output quietly, not in a panic.
fn write(stream: &mut dyn Write, text: &str) {
    if let Err(err) = stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        && err.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the output: {err}");
    }
}
