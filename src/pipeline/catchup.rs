//! The existing content of followed files, read merged by time before following them
//! (`watch --from-start`, `events --follow --from-start`, `top`). A follower reads each file on
//! its own, so the service's log and the gateways' logs would reach the pool one file after the
//! other, out of time order; here the files are opened at their end, what lies before is read as
//! `gwmon report` reads it (merged by event time), and following goes on from those ends.

use std::fs::File;
use std::io::{self, Read};

use super::batch::read_merged;
use super::replay::Batch;
use super::session::{LiveSource, Session};
use crate::alert::Notification;
use crate::event::Event;
use crate::source::Input;
use crate::source::follow::{FollowOptions, Follower};

/// Open the inputs for following; with `from_start`, first apply their existing content to
/// the session, merged by time (`on_event` sees each event).
pub fn open(
    batch: &Batch,
    follow: &FollowOptions,
    session: &mut Session,
    notes: &mut Vec<Notification>,
    on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
) -> anyhow::Result<LiveSource> {
    let files: Vec<String> = batch
        .inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => Some(p.display().to_string()),
            Input::Stdin => None,
        })
        .collect();
    if files.is_empty() || !follow.from_start {
        let live = LiveSource::open(&batch.inputs, follow)?;
        session.watch(live.names(&batch.inputs));
        return Ok(live);
    }
    // At their ends; a compressed file or one that was empty is left to the follower, which
    // reads it from its start.
    let at_end = FollowOptions {
        from_start: false,
        ..follow.clone()
    };
    let follower = Follower::new(&files, at_end)?;
    let live = LiveSource::Files(Box::new(follower));
    session.watch(live.names(&batch.inputs));
    let LiveSource::Files(f) = &live else {
        return Ok(live);
    };
    let starts = f.start_positions();
    if starts.is_empty() {
        return Ok(live);
    }
    let inputs: Vec<Input> = starts.iter().map(|s| Input::File(s.path.clone())).collect();
    let mut readers: Vec<Box<dyn Read + Send>> = Vec::with_capacity(starts.len());
    for s in &starts {
        let file = File::open(&s.path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", s.path.display()))?;
        readers.push(Box::new(file.take(s.offset)));
    }
    for s in &starts {
        session.set_name(s.input as usize, s.path.display().to_string());
    }
    let mut diagnostics = Vec::new();
    let stats = read_merged(
        &inputs,
        readers,
        &batch.read,
        |mut ev| {
            // The reader's index is the file's; the event belongs to the input that named it.
            ev.origin.input = starts[ev.origin.input as usize].input;
            session.apply(ev, notes, on_event)?;
            Ok(())
        },
        |d| diagnostics.push(d),
    )?;
    for d in diagnostics {
        session.tell(d);
    }
    let st = &mut session.stats;
    st.lines += stats.lines;
    st.skipped += stats.skipped;
    st.time_backwards += stats.time_backwards;
    st.errors += stats.errors;
    for (i, c) in stats.inputs {
        let into = st.inputs.entry(starts[i as usize].input).or_default();
        into.lines += c.lines;
        into.events += c.events;
        into.skipped += c.skipped;
        into.bytes += c.bytes;
        if into.sample.is_none() {
            into.sample = c.sample;
        }
        into.last_time = into.last_time.max(c.last_time);
    }
    Ok(live)
}
