use clap::Parser;

fn main() -> std::process::ExitCode {
    gwmon::run(gwmon::cli::Cli::parse()).into_exit_code()
}
