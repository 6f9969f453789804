#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    // `reachdiff __render-sandbox PROGRAM ARGS...`: confine, then become
    // the render tool (src/cli/trampoline.rs).
    if let Some(code) = reachdiff::cli::trampoline::run_if_requested() {
        return code;
    }
    reachdiff::cli::main()
}
