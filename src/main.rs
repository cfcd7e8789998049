//! The `rollcall` binary: all the work is in the library.

fn main() -> std::process::ExitCode {
    rollcall::cli::main()
}
