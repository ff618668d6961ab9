//! Placeholder: the seeded pool simulator is being written (see tests/integration/simulated.rs).

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {}

pub fn run(_args: &SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("simulate: not built yet")
}
