use clap::Parser;

fn main() -> std::process::ExitCode {
    match gwmon::cli::Cli::try_parse() {
        Ok(cli) => gwmon::run(cli),
        Err(e) => gwmon::cli::usage_error(&e),
    }
    .into_exit_code()
}
