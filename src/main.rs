use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gwmon::cli::Cli::parse();
    match gwmon::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if gwmon::app::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gwmon: {}", gwmon::term::escape(&format!("{e:#}")));
            ExitCode::from(gwmon::app::EXIT_ERROR)
        }
    }
}
