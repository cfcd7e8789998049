//! Starting `rollcall sandbox` as a child process, for tests and benchmarks.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts `rollcall sandbox --provider PROVIDER EXTRA...` on a free port; returns the child and
/// its URL. The child's standard output is drained for as long as it lives, so nothing it prints
/// later can fail.
pub fn start(binary: &str, provider: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(["sandbox", "--provider", provider])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sandbox");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("the sandbox's address");
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let url = first.trim().rsplit(' ').next().expect("a URL").to_string();
    (child, url)
}
