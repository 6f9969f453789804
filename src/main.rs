#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    reachdiff::cli::main()
}
