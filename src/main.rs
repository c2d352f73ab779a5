//! The `git-dvc` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    git_dvc::run()
}
