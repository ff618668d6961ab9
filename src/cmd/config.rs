//! `gwmon config`: print the commented default configuration, or the effective one (checking
//! the file on the way).

use crate::config::DEFAULT_TOML;
use crate::exit::Exit;
use crate::settings::ConfigShow;

pub fn run(s: ConfigShow) -> anyhow::Result<Exit> {
    if s.print_default {
        print!("{DEFAULT_TOML}");
        return Ok(Exit::Success);
    }
    println!("# effective configuration ({})", s.from);
    print!("{}", toml::to_string_pretty(&s.config)?);
    Ok(Exit::Success)
}
