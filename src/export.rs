//! Export stage: renderers of the report and the state, each writing to an `impl Write` or
//! returning text — the text report ([`text`]), the HTML report with its charts ([`html`]), the
//! event stream ([`events`]), the Prometheus exposition ([`prometheus`]) and its HTTP endpoint
//! ([`serve`]), the monitoring-plugin status of `gwmon check` ([`plugin`]).

pub mod events;
pub mod html;
pub mod plugin;
pub mod prometheus;
pub mod serve;
pub mod text;
